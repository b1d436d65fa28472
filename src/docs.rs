//! The OpenAPI 3 document, generated from the handlers' annotations, and the Swagger UI
//! that serves it at `/docs/`.

use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::http;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Career Nexus API",
        description = "REST API of the Career Nexus server. Sign in with POST /user/signin/ and send the access token as `Authorization: Bearer <access>`.\n\nWebSockets (not listed as operations): `/ws/chat/{other_user_id}/?token=<access>`, `/ws/notification/?token=<access>` and `/ws/notification/jobs/?token=<access>`; frames are described in the README."
    ),
    paths(
        http::accounts::sign_up,
        http::accounts::verify_hash,
        http::accounts::sign_in,
        http::accounts::sign_out,
        http::accounts::forget_password,
        http::accounts::delete_user,
        http::profiles::retrieve_profile,
        http::profiles::update_profile,
        http::profiles::update_industry,
        http::profiles::list_entries,
        http::profiles::add_entry,
        http::profiles::update_experience,
        http::profiles::delete_entry,
        http::profiles::retrieve_settings,
        http::profiles::update_settings,
        http::profiles::profile_completion,
        http::profiles::user_analytics,
        http::profiles::search_users,
        http::chat::list_chats,
        http::chat::chat_history,
        http::chat::initiate_chat,
        http::chat::list_notifications,
        http::chat::clear_notifications,
        http::chat::get_presence,
        http::info::choice_data,
        http::health::healthz,
        http::health::readyz,
    ),
    components(schemas(http::accounts::SignUpRequest)),
    modifiers(&BearerAuth, &EntryPaths),
    tags(
        (name = "accounts", description = "Sign-up, sign-in, sign-out, password reset, deletion"),
        (name = "profiles", description = "Profiles and their entries, settings, analytics, search"),
        (name = "chat", description = "Chat rooms, history, notifications, presence"),
        (name = "info", description = "Choice lists"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the protected operations name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        );
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", scheme);
    }
}

/// Adds the paths of the education and certification entries, which share the handlers
/// (and so the annotations) of the experience entries, and the `PUT` that all three
/// paths accept besides `/user/update-experience/`.
struct EntryPaths;

impl Modify for EntryPaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let paths = &mut openapi.paths.paths;
        let Some(experience) = paths.get("/user/experience/").cloned() else {
            return;
        };
        let update = paths
            .get("/user/update-experience/")
            .and_then(|item| item.put.clone());
        for kind in ["experience", "education", "certification"] {
            let item = entry_path_item(&experience, update.as_ref(), kind);
            paths.insert(format!("/user/{kind}/"), item);
        }
    }
}

/// Copies the experience path item for the entry `kind`. Each operation id gets the kind
/// as a suffix so that ids stay unique, and the delete parameter becomes `<kind>_id`.
fn entry_path_item(template: &PathItem, update: Option<&Operation>, kind: &str) -> PathItem {
    let mut item = template.clone();
    item.put = update.cloned();
    let operations = [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.delete,
    ];
    for operation in operations.into_iter().flatten() {
        if let Some(id) = operation.operation_id.as_mut() {
            id.push('_');
            id.push_str(kind);
        }
        for parameter in operation.parameters.iter_mut().flatten() {
            if parameter.name == "experience_id" {
                parameter.name = format!("{kind}_id");
            }
        }
    }
    item
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/docs", web::get().to(redirect_to_docs))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/docs/openapi.json", ApiDoc::openapi()));
}

async fn redirect_to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}
