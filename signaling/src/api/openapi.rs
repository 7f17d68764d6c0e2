//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{archive, auth, error, invitations, meeting, organs, package, recording, sessions};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Seduta API", description = "Sessions of a municipal Giunta: staff login, organs and members, sessions and agenda, invitations, the meeting's state and actions, the attendance log and the votes."),
    paths(
        auth::login, auth::logout, auth::me, auth::change_password, auth::create_staff,
        organs::list, organs::members, organs::add_member, organs::end_membership, organs::set_settings,
        sessions::list, sessions::create, sessions::detail, sessions::update, sessions::set_agenda,
        sessions::add_guest, sessions::add_room,
        invitations::mint, invitations::list, invitations::revoke, invitations::console,
        meeting::state, meeting::act, meeting::attendance, meeting::votes,
        recording::report,
        package::report, package::upload, package::download,
        archive::search::search, archive::record::record, archive::speakers::speakers,
        archive::media::mint,
        archive::media::serve, archive::access_log::list, archive::retention::status,
        archive::retention::delete,
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&BearerSchemes)
)]
pub struct ApiDoc;

struct BearerSchemes;

impl Modify for BearerSchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = || {
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            )
        };
        components.add_security_scheme("staff", bearer());
        components.add_security_scheme("join", bearer());
    }
}

/// `GET /api/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented() {
        let doc = ApiDoc::openapi();
        let paths: Vec<&String> = doc.paths.paths.keys().collect();
        for p in [
            "/api/auth/login",
            "/api/sessions",
            "/api/sessions/{id}/actions",
            "/api/sessions/{id}/invitations",
            "/api/invitations/{jti}",
            "/api/sessions/{id}/attendance",
            "/api/sessions/{id}/recording",
            "/api/sessions/{id}/package",
            "/api/sessions/{id}/package/{file}",
            "/api/sessions/{id}/signatures",
            "/api/archive/sessions",
            "/api/archive/sessions/{id}",
            "/api/sessions/{id}/media/{file}",
            "/api/sessions/{id}/media-token",
            "/api/access-log",
            "/api/sessions/{id}/retention/delete",
        ] {
            assert!(paths.iter().any(|x| x.as_str() == p), "{p} missing");
        }
        let json = serde_json::to_string(&doc).expect("serializes");
        assert!(json.contains("\"openapi\":\"3."));
    }
}
