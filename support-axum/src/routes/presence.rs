//! Typing and presence: `POST /conversations/{id}/typing`,
//! `GET /presence`, `PUT /presence`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use support_core::ConversationId;
use uuid::Uuid;

use crate::api::{Caller, SupportApi};
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{Problem, ProblemBody};
use crate::wire::{PresenceBody, ViewingBody};

/// The caller types in a conversation: the other side and the other admins
/// get a `typing` event (on every server). At most one goes out per caller
/// and conversation per throttle interval (2 s by default); extra calls
/// are accepted and dropped. Call it while the person types; nothing is
/// stored.
#[utoipa::path(
    post,
    path = "/conversations/{id}/typing",
    tag = "presence",
    params(("id" = Uuid, Path, description = "Conversation id")),
    responses(
        (status = 204, description = "Accepted (sent, or dropped by the throttle)"),
        (status = 400, description = "Malformed id", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "A cookie-authenticated write from another origin", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not the caller's", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn typing(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, Problem> {
    api.team()
        .typing(
            api.support(),
            &caller.principal,
            caller.profile.name.as_deref(),
            ConversationId::from_uuid(id),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The team's presence. Admins: who is online or away and what they have
/// open. Users: only whether the team is online, and how fast it usually
/// answers. An admin is online while a live stream (`GET /events`) of
/// theirs is open on any server, for a grace period after the last one
/// closes (15 s by default), and away after a time without activity
/// (sends, typing, `PUT /presence`; 5 min by default).
#[utoipa::path(
    get,
    path = "/presence",
    tag = "presence",
    responses(
        (status = 200, description = "The team's presence", body = PresenceBody),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn get_presence(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
) -> Json<PresenceBody> {
    Json(PresenceBody::of(
        &api.team().presence().snapshot,
        caller.principal.is_admin(),
    ))
}

/// An admin says which conversation they have open (`null`: none), which
/// also counts as activity. Other admins see it in `presence`. It is kept
/// per admin per server, and only while the admin has a live stream open
/// on that server (send it again when a stream opens: its first
/// `presence` event says it is live).
#[utoipa::path(
    put,
    path = "/presence",
    tag = "presence",
    request_body = ViewingBody,
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, description = "Invalid input", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin, or a cross-origin cookie write", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn put_presence(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<ViewingBody>,
) -> Result<StatusCode, Problem> {
    let viewing = api
        .support()
        .viewing(
            &caller.principal,
            body.viewing.map(ConversationId::from_uuid),
        )
        .await?;
    api.team().viewing(&caller.principal, viewing);
    Ok(StatusCode::NO_CONTENT)
}
