//! The router and its OpenAPI document, built from the same handler list so
//! neither can drift from the other.

mod analytics;
mod conversations;
mod events;
mod messages;
mod notifications;
mod presence;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, header};
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDoc, Server};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;

use crate::api::{Caller, SupportApi};
use crate::auth::TOKEN_COOKIE;
use crate::problem::{Problem, ProblemBody};
use crate::wire::{
    ConversationEventBody, MeBody, PresenceBody, ResetEventBody, SeenEventBody, TypingEventBody,
};

/// Every route of the API, relative to where the host mounts it. Tests
/// check it against the OpenAPI document and the authorization matrix, so a
/// route added anywhere must be added here too.
pub const ROUTES: &[(Method, &str)] = &[
    (Method::POST, "/messages"),
    (Method::GET, "/conversations"),
    (Method::GET, "/conversations/{id}"),
    (Method::GET, "/conversations/{id}/messages"),
    (Method::POST, "/conversations/{id}/messages"),
    (Method::POST, "/conversations/{id}/seen"),
    (Method::POST, "/conversations/{id}/close"),
    (Method::POST, "/conversations/{id}/reopen"),
    (Method::POST, "/conversations/{id}/typing"),
    (Method::GET, "/events"),
    (Method::GET, "/presence"),
    (Method::PUT, "/presence"),
    (Method::GET, "/analytics"),
    (Method::GET, "/preferences"),
    (Method::PUT, "/preferences"),
    (Method::GET, "/notifications"),
    (Method::GET, "/me"),
    (Method::GET, "/openapi.json"),
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Support API",
        version = "1",
        description = "An embeddable support inbox: users write, admins answer, both see it live. \
                       Errors are RFC 9457 problem details with a stable `code`."
    ),
    modifiers(&SecuritySchemes),
    components(schemas(
        ProblemBody,
        ConversationEventBody,
        SeenEventBody,
        ResetEventBody,
        TypingEventBody,
        PresenceBody
    )),
    tags(
        (name = "messages", description = "Writing and reading messages"),
        (name = "conversations", description = "Listing and resolving conversations"),
        (name = "events", description = "Live server-sent events"),
        (name = "presence", description = "Typing indicators and the team's presence"),
        (name = "analytics", description = "Support team figures"),
        (name = "notifications", description = "Notification preferences and the delivery queue"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("HS256 JWT with claims sub, role, exp"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                TOKEN_COOKIE,
                "The same JWT in an HttpOnly cookie; writes must be same-origin",
            ))),
        );
    }
}

/// Who the caller is, as the API sees them: for components in a host's
/// own pages, which cannot read the token.
#[utoipa::path(
    get,
    path = "/me",
    tag = "meta",
    responses(
        (status = 200, description = "The caller", body = MeBody),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
async fn me(Caller(caller): Caller) -> Json<MeBody> {
    Json(MeBody {
        user_id: caller.principal.id.to_string(),
        role: crate::wire::role_name(caller.principal.role).to_owned(),
        name: caller.profile.name,
    })
}

/// This OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object))
)]
async fn openapi_json(State(api): State<SupportApi>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        api.openapi_json().get().cloned().unwrap_or_default(),
    )
}

fn parts() -> (Router<SupportApi>, OpenApiDoc) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(messages::send))
        .routes(routes!(conversations::list))
        .routes(routes!(conversations::get_one))
        .routes(routes!(messages::history, messages::post))
        .routes(routes!(messages::seen))
        .routes(routes!(conversations::close))
        .routes(routes!(conversations::reopen))
        .routes(routes!(events::events))
        .routes(routes!(presence::typing))
        .routes(routes!(presence::get_presence, presence::put_presence))
        .routes(routes!(analytics::analytics))
        .routes(routes!(
            notifications::get_preferences,
            notifications::put_preferences
        ))
        .routes(routes!(notifications::jobs))
        .routes(routes!(me))
        .routes(routes!(openapi_json))
        .split_for_parts()
}

/// The OpenAPI document of the API.
pub fn openapi() -> OpenApiDoc {
    parts().1
}

/// The API router with its state applied, for the host to `nest` under any
/// prefix. It adds no global middleware; it limits request bodies to
/// [`crate::ApiConfig::body_limit`].
pub fn router<S>(api: SupportApi) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let (router, mut doc) = parts();
    if let Some(base) = &api.config().base_path {
        doc.servers = Some(vec![Server::new(base)]);
    }
    match doc.to_json() {
        Ok(json) => {
            let _ = api.openapi_json().set(json);
        }
        Err(error) => tracing::error!(%error, "cannot render the OpenAPI document"),
    }
    let limit = api.config().body_limit;
    router
        .fallback(no_such_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(api)
}

async fn no_such_route() -> Problem {
    Problem::not_found("no such route")
}

async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}
