//! Stable error codes and WebSocket close codes of the protocol.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code. Clients switch on these; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON, not a JSON object, or a binary frame.
    BadJson,
    /// The `type` is missing or not a known message type.
    UnknownType,
    /// A known message with missing, extra or mistyped fields.
    InvalidMessage,
    /// The frame exceeds the size limit.
    MessageTooLarge,
    /// Too many messages in too short a time.
    RateLimited,
    /// A message other than `join` before joining.
    NotJoined,
    /// A second `join` on a connection that has joined.
    AlreadyJoined,
    /// No `join` arrived in time after the connection opened.
    JoinTimeout,
    /// The token is malformed or its signature does not verify.
    TokenInvalid,
    /// The token has expired.
    TokenExpired,
    /// The token is not valid yet (`nbf`).
    TokenNotYetValid,
    /// The token was issued for another audience.
    TokenWrongAudience,
    /// The token was issued for another session than the one in the URL.
    TokenWrongSession,
    /// The action is not allowed for this participant's role.
    Forbidden,
    /// The SDP could not be parsed or applied.
    InvalidSdp,
    /// The media negotiation failed for another reason.
    NegotiationFailed,
    /// A `subscriber_answer` without an outstanding offer, or a `subscribe` for an unknown track.
    UnknownTrack,
    /// The media connection of this participant was lost; the client should rejoin with `resume`.
    MediaLost,
    /// Another connection joined with the same identity; this one is closed.
    SessionReplaced,
    /// The segretario removed this participant from the session.
    Removed,
    /// The invitation behind this token was revoked, or is unknown.
    TokenRevoked,
    /// The server is shutting down or the session was closed.
    SessionClosed,
    /// The store could not take what the connection needed (the database locked by
    /// another process past its busy timeout, or down); nothing was changed. Joining
    /// again later succeeds.
    Storage,
    /// An internal failure; nothing was changed.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::MessageTooLarge => "message_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::JoinTimeout => "join_timeout",
            ErrorCode::TokenInvalid => "token_invalid",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenNotYetValid => "token_not_yet_valid",
            ErrorCode::TokenWrongAudience => "token_wrong_audience",
            ErrorCode::TokenWrongSession => "token_wrong_session",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::InvalidSdp => "invalid_sdp",
            ErrorCode::NegotiationFailed => "negotiation_failed",
            ErrorCode::UnknownTrack => "unknown_track",
            ErrorCode::MediaLost => "media_lost",
            ErrorCode::SessionReplaced => "session_replaced",
            ErrorCode::TokenRevoked => "token_revoked",
            ErrorCode::Removed => "removed",
            ErrorCode::SessionClosed => "session_closed",
            ErrorCode::Storage => "storage",
            ErrorCode::Internal => "internal",
        }
    }

    /// The WebSocket close code used when this error ends the connection.
    pub fn close_code(self) -> CloseCode {
        match self {
            ErrorCode::TokenInvalid
            | ErrorCode::TokenExpired
            | ErrorCode::TokenNotYetValid
            | ErrorCode::TokenWrongAudience
            | ErrorCode::TokenWrongSession
            | ErrorCode::TokenRevoked
            | ErrorCode::JoinTimeout => CloseCode::AuthFailed,
            ErrorCode::MessageTooLarge => CloseCode::TooLarge,
            ErrorCode::RateLimited => CloseCode::RateLimited,
            ErrorCode::SessionReplaced => CloseCode::Replaced,
            ErrorCode::SessionClosed => CloseCode::Normal,
            ErrorCode::Storage => CloseCode::TryAgainLater,
            ErrorCode::Internal => CloseCode::Internal,
            _ => CloseCode::ProtocolViolation,
        }
    }
}

/// WebSocket close codes the server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum CloseCode {
    /// 1000: normal closure (leave, session closed).
    Normal = 1000,
    /// 1009: a frame was too large.
    TooLarge = 1009,
    /// 1011: internal error.
    Internal = 1011,
    /// 1013: try again later (the store could not record the join).
    TryAgainLater = 1013,
    /// 4001: authentication failed.
    AuthFailed = 4001,
    /// 4002: repeated protocol violations.
    ProtocolViolation = 4002,
    /// 4003: replaced by a newer connection of the same participant.
    Replaced = 4003,
    /// 4008: message flood.
    RateLimited = 4008,
}
