//! Parsing one client frame into a [`ClientMessage`], with the protocol's error codes.

use crate::protocol::{ClientMessage, ErrorCode};

/// Known client message types; anything else is `unknown_type`.
const KNOWN_TYPES: [&str; 8] = [
    "join",
    "publish",
    "subscriber_answer",
    "media_state",
    "subscribe",
    "ping",
    "leave",
    "action",
];

/// Parses a text frame. Errors carry the code and a short English reason.
pub fn parse(text: &str) -> Result<ClientMessage, (ErrorCode, String)> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| (ErrorCode::BadJson, format!("not valid JSON: {e}")))?;
    let Some(obj) = value.as_object() else {
        return Err((ErrorCode::BadJson, "a message must be a JSON object".into()));
    };
    match obj.get("type").and_then(|t| t.as_str()) {
        Some(t) if KNOWN_TYPES.contains(&t) => {}
        Some(_) => return Err((ErrorCode::UnknownType, "unknown message type".into())),
        None => return Err((ErrorCode::UnknownType, "missing string field `type`".into())),
    }
    serde_json::from_value(value).map_err(|e| (ErrorCode::InvalidMessage, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_for_each_kind_of_bad_frame() {
        assert_eq!(parse("{").unwrap_err().0, ErrorCode::BadJson);
        assert_eq!(parse("[1,2]").unwrap_err().0, ErrorCode::BadJson);
        assert_eq!(parse("{\"a\":1}").unwrap_err().0, ErrorCode::UnknownType);
        assert_eq!(
            parse("{\"type\":\"dance\"}").unwrap_err().0,
            ErrorCode::UnknownType
        );
        assert_eq!(parse("{\"type\":5}").unwrap_err().0, ErrorCode::UnknownType);
        assert_eq!(
            parse("{\"type\":\"ping\"}").unwrap_err().0,
            ErrorCode::InvalidMessage
        );
        assert_eq!(
            parse("{\"type\":\"ping\",\"ts\":1,\"extra\":true}")
                .unwrap_err()
                .0,
            ErrorCode::InvalidMessage
        );
    }

    #[test]
    fn parses_every_type() {
        for text in [
            r#"{"type":"join","token":"t"}"#,
            r#"{"type":"join","token":"t","resume":true}"#,
            r#"{"type":"publish","sdp":"v=0","tracks":[{"mid":"0","kind":"audio","source":"microphone"}]}"#,
            r#"{"type":"subscriber_answer","sdp":"v=0"}"#,
            r#"{"type":"media_state","audio_muted":true,"video_muted":false}"#,
            r#"{"type":"subscribe","track":"a/1","max_height":180}"#,
            r#"{"type":"ping","ts":7}"#,
            r#"{"type":"leave"}"#,
        ] {
            let msg = parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert!(text.contains(msg.kind()));
        }
    }
}
