//! Messages: send, reply, history, seen.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use support_core::{ConversationId, MessageId, MessagesRequest, NewMessage};
use utoipa::IntoParams;
use uuid::Uuid;

use super::conversations::parse_limit;
use crate::api::{Caller, SupportApi};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::{Problem, ProblemBody};
use crate::wire::{MessageBody, MessagePageBody, NewMessageBody, SeenBody, SentBody};

fn new_message(body: NewMessageBody) -> NewMessage {
    NewMessage {
        content: body.content,
        client_id: body.client_id,
    }
}

/// Records the contact details the host vouched for (the token's claims),
/// so notifications can reach the user later. Best effort: a failure is
/// logged, the message stands.
async fn remember_contact(api: &SupportApi, caller: &crate::auth::Authenticated) {
    let profile = &caller.profile;
    // The name is shown to admins; addresses are stored only to reach the
    // user, so not at all when no channel would.
    let reaches = api
        .support()
        .config()
        .notifications
        .reaches_user_addresses();
    let contact = support_core::Contact {
        name: profile.name.clone(),
        email: profile.email.clone().filter(|_| reaches),
        phone: profile.phone.clone().filter(|_| reaches),
    };
    if contact == support_core::Contact::default() {
        return;
    }
    let user = &caller.principal.id;
    if api.contact_is_stored(user, &contact) {
        return;
    }
    match api
        .support()
        .remember_contact(&caller.principal, &contact)
        .await
    {
        Ok(()) => api.note_contact_stored(user.clone(), contact),
        Err(error) => tracing::warn!(%error, "cannot record the caller's contact details"),
    }
}

fn created_or_replayed(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// A user writes to support: into their open conversation, creating one
/// when none is open. 201 when written; 200 with the original when
/// `client_id` repeats an earlier send.
#[utoipa::path(
    post,
    path = "/messages",
    tag = "messages",
    request_body = NewMessageBody,
    responses(
        (status = 201, description = "Written", body = SentBody),
        (status = 200, description = "Repeated client_id: the original", body = SentBody),
        (status = 400, description = "Invalid input", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Admins reply within a conversation, or a cross-origin cookie write", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn send(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewMessageBody>,
) -> Result<(StatusCode, Json<SentBody>), Problem> {
    let mut sent = api
        .support()
        .send(&caller.principal, new_message(body))
        .await?;
    if sent.created {
        remember_contact(&api, &caller).await;
    }
    api.team()
        .sent(&caller.principal, sent.conversation.conversation.id);
    if sent.conversation.user_name.is_none() {
        // The sender owns the conversation: their name is the token's.
        sent.conversation.user_name = caller.profile.name.clone();
    }
    Ok((
        created_or_replayed(sent.created),
        Json(SentBody {
            conversation: sent.conversation.into(),
            message: sent.message.into(),
        }),
    ))
}

/// Query of `GET /conversations/{id}/messages`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// Page size, 1 to 200 (default 50).
    limit: Option<String>,
    /// The page just before this message id.
    before: Option<String>,
    /// The page just after this message id.
    after: Option<String>,
}

fn message_id(field: &'static str, raw: Option<String>) -> Result<Option<MessageId>, Problem> {
    raw.map(|raw| {
        raw.parse()
            .map_err(|_| Problem::invalid(field, format!("{field} must be a message id")))
    })
    .transpose()
}

/// A conversation's messages, oldest first. Without `before`/`after`: the
/// newest page.
#[utoipa::path(
    get,
    path = "/conversations/{id}/messages",
    tag = "messages",
    params(("id" = Uuid, Path, description = "Conversation id"), HistoryQuery),
    responses(
        (status = 200, description = "A page of messages", body = MessagePageBody),
        (status = 400, description = "Invalid query", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not the caller's", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn history(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<MessagePageBody>, Problem> {
    let request = MessagesRequest {
        limit: parse_limit(query.limit.as_deref(), 200)?,
        before: message_id("before", query.before)?,
        after: message_id("after", query.after)?,
    };
    let page = api
        .support()
        .messages(&caller.principal, ConversationId::from_uuid(id), request)
        .await?;
    Ok(Json(MessagePageBody {
        items: page.items.into_iter().map(MessageBody::from).collect(),
        has_more: page.has_more,
        last_event_id: page.position.0,
    }))
}

/// Write into a conversation. Admins: any, and a reply reopens a closed
/// one. Users: their own open conversation (closed: 409).
#[utoipa::path(
    post,
    path = "/conversations/{id}/messages",
    tag = "messages",
    params(("id" = Uuid, Path, description = "Conversation id")),
    request_body = NewMessageBody,
    responses(
        (status = 201, description = "Written", body = MessageBody),
        (status = 200, description = "Repeated client_id: the original", body = MessageBody),
        (status = 400, description = "Invalid input", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "A cookie-authenticated write from another origin", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not the caller's", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Closed (users), or the user has another open conversation (admins)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn post(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NewMessageBody>,
) -> Result<(StatusCode, Json<MessageBody>), Problem> {
    let posted = api
        .support()
        .post(
            &caller.principal,
            ConversationId::from_uuid(id),
            new_message(body),
        )
        .await?;
    api.team()
        .sent(&caller.principal, ConversationId::from_uuid(id));
    Ok((
        created_or_replayed(posted.created),
        Json(posted.message.into()),
    ))
}

/// Mark every message of the other side up to `up_to` as seen. Idempotent;
/// never moves backwards.
#[utoipa::path(
    post,
    path = "/conversations/{id}/seen",
    tag = "messages",
    params(("id" = Uuid, Path, description = "Conversation id")),
    request_body = SeenBody,
    responses(
        (status = 204, description = "Marked"),
        (status = 400, description = "Invalid input", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not the caller's", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "A cookie-authenticated write from another origin", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn seen(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SeenBody>,
) -> Result<StatusCode, Problem> {
    api.support()
        .mark_seen(
            &caller.principal,
            ConversationId::from_uuid(id),
            MessageId::from_uuid(body.up_to),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
