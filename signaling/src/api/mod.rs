//! The REST API under `/api`: staff login, the organ and its members, sessions,
//! agenda, invitations, the meeting's state and actions, the attendance log and the
//! votes. Every error is `{"code", "message"}` with a fitting HTTP status; the
//! OpenAPI document is generated from these handlers and served at
//! `/api/openapi.json`.

mod archive;
mod auth;
mod body;
mod error;
mod extract;
mod invitations;
mod meeting;
mod openapi;
mod organs;
mod package;
mod recording;
mod sessions;
mod throttle;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};

pub use archive::DEFAULT_RETENTION_YEARS;
pub use error::ApiError;
pub use invitations::{MintedLink, mint_link};
pub use sessions::{NewSession, convene};
pub use throttle::LoginThrottle;

use crate::Shared;

/// Largest accepted request body, in bytes.
const MAX_BODY: usize = 256 * 1024;

/// The API routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/password", post(auth::change_password))
        .route("/api/auth/me", get(auth::me))
        .route("/api/staff", post(auth::create_staff))
        .route("/api/organs", get(organs::list))
        .route(
            "/api/organs/{id}/members",
            get(organs::members).post(organs::add_member),
        )
        .route("/api/organs/{id}/settings", put(organs::set_settings))
        .route("/api/members/{id}/end", post(organs::end_membership))
        .route("/api/sessions", get(sessions::list).post(sessions::create))
        .route(
            "/api/sessions/{id}",
            get(sessions::detail).patch(sessions::update),
        )
        .route("/api/sessions/{id}/agenda", put(sessions::set_agenda))
        .route("/api/sessions/{id}/guests", post(sessions::add_guest))
        .route("/api/sessions/{id}/room", post(sessions::add_room))
        .route(
            "/api/sessions/{id}/invitations",
            get(invitations::list).post(invitations::mint),
        )
        .route("/api/sessions/{id}/console", post(invitations::console))
        .route("/api/invitations/{jti}", delete(invitations::revoke))
        .route("/api/sessions/{id}/state", get(meeting::state))
        .route("/api/sessions/{id}/actions", post(meeting::act))
        .route("/api/sessions/{id}/attendance", get(meeting::attendance))
        .route("/api/sessions/{id}/votes", get(meeting::votes))
        .route("/api/sessions/{id}/recording", get(recording::report))
        .route("/api/archive/sessions", get(archive::search::search))
        .route("/api/archive/sessions/{id}", get(archive::record::record))
        .route(
            "/api/archive/sessions/{id}/speakers",
            get(archive::speakers::speakers),
        )
        .route("/api/sessions/{id}/media-token", post(archive::media::mint))
        .route(
            "/api/sessions/{id}/media/{file}",
            get(archive::media::serve),
        )
        .route(
            "/api/sessions/{id}/retention",
            get(archive::retention::status),
        )
        .route(
            "/api/sessions/{id}/retention/delete",
            post(archive::retention::delete),
        )
        .route("/api/access-log", get(archive::access_log::list))
        .route("/api/sessions/{id}/package", get(package::report))
        .route("/api/sessions/{id}/package/{file}", get(package::download))
        .route("/api/sessions/{id}/signatures", post(package::upload))
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/{*rest}", axum::routing::any(error::not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}
