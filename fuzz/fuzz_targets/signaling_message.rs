//! One client WebSocket text frame through the service's own parser
//! (`service::inbound::parse`, re-exported as `parse_client_frame`), and the same
//! text as a REST `MeetingAction` body.
//!
//! Holds: no panic; a frame above the size limit is never parsed (the connection
//! refuses it first, so it is skipped here); an accepted message names its own
//! `type`, and serializes to JSON that parses back to the same message (what the
//! server logs and echoes is what the client sent).

#![no_main]

use libfuzzer_sys::fuzz_target;
use seduta_signaling::parse_client_frame;
use seduta_signaling::protocol::{ClientMessage, MAX_MESSAGE_BYTES, MeetingAction};

fuzz_target!(|data: &[u8]| {
    // A WebSocket text frame is UTF-8 by construction.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > MAX_MESSAGE_BYTES {
        return;
    }
    if let Ok(msg) = parse_client_frame(text) {
        let value: serde_json::Value = serde_json::from_str(text).expect("parsed, so JSON");
        assert_eq!(
            value.get("type").and_then(|t| t.as_str()),
            Some(msg.kind()),
            "the message is not of the type it names"
        );
        let again = serde_json::to_string(&msg).expect("serializes");
        let back = parse_client_frame(&again)
            .unwrap_or_else(|e| panic!("its own serialization {again} is refused: {e:?}"));
        assert_eq!(back, msg, "round trip through {again}");
        if let ClientMessage::Action { action, .. } = &msg {
            assert!(!action.kind().is_empty());
        }
    }
    // The REST path (`POST /api/sessions/{id}/actions`) takes the action alone.
    if let Ok(action) = serde_json::from_str::<MeetingAction>(text) {
        let again = serde_json::to_string(&action).expect("serializes");
        let back: MeetingAction = serde_json::from_str(&again)
            .unwrap_or_else(|e| panic!("its own serialization {again} is refused: {e}"));
        assert_eq!(back, action, "round trip through {again}");
    }
});
