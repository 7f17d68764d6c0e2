//! Who may enter a stored session: a token of a stored session must belong to a
//! live invitation for that very participant and role. Tokens of sessions that are
//! not stored open a plain call (external issuers, tests) with no meeting rules.

use crate::auth::Claims;
use crate::clock::now_ms;
use crate::protocol::ErrorCode;
use crate::store::{SessionStatus, Store};

/// Checks `claims` (already verified) against the store.
pub async fn admit(store: &Store, claims: &Claims) -> Result<(), (ErrorCode, &'static str)> {
    let unavailable = |_| (ErrorCode::Storage, "the session store is not available");
    let Some(session) = store.session(&claims.session).await.map_err(unavailable)? else {
        return Ok(());
    };
    if session.status == SessionStatus::Closed {
        return Err((ErrorCode::SessionClosed, "the session is closed"));
    }
    let revoked = (
        ErrorCode::TokenRevoked,
        "the invitation is revoked or unknown",
    );
    let Some(jti) = &claims.jti else {
        return Err(revoked);
    };
    let Some(invitation) = store.invitation(jti).await.map_err(unavailable)? else {
        return Err(revoked);
    };
    let expired = invitation.expires_at_ms < now_ms() as i64;
    if invitation.revoked_at_ms.is_some()
        || expired
        || invitation.session_id != claims.session
        || invitation.participant_id != claims.sub
    {
        return Err(revoked);
    }
    match store
        .participant(&claims.session, &claims.sub)
        .await
        .map_err(unavailable)?
    {
        Some(p) if p.role == claims.role => Ok(()),
        _ => Err((
            ErrorCode::Forbidden,
            "the token's role does not match the invitation",
        )),
    }
}
