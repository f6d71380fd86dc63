//! Conversations: list, read, close, reopen.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use support_core::{ConversationId, ConversationStatus, InboxRequest, StatusFilter, UserId};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::api::{Caller, SupportApi};
use crate::extract::{ApiPath, ApiQuery};
use crate::problem::{Problem, ProblemBody};
use crate::wire::{ConversationBody, ConversationPageBody};

/// Query of `GET /conversations`. Values are validated by the core, so
/// every backend rejects the same input.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// `open`, `closed` or `all` (default).
    status: Option<String>,
    /// `true`: only conversations awaiting a reply.
    awaiting_reply: Option<String>,
    /// Only this user's conversations (admins; a user only narrows).
    user_id: Option<String>,
    /// Full-text search over message content.
    q: Option<String>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

pub(crate) fn parse_limit(raw: Option<&str>, max: u32) -> Result<Option<u32>, Problem> {
    raw.map(|raw| {
        raw.parse::<u32>().map_err(|_| {
            Problem::invalid("limit", format!("limit must be an integer from 1 to {max}"))
        })
    })
    .transpose()
}

fn parse_bool(field: &'static str, raw: Option<&str>) -> Result<bool, Problem> {
    match raw {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(Problem::invalid(
            field,
            format!("{field} must be true or false"),
        )),
    }
}

impl ListQuery {
    fn into_request(self) -> Result<InboxRequest, Problem> {
        Ok(InboxRequest {
            status: match self.status.as_deref() {
                None => StatusFilter::All,
                Some(raw) => StatusFilter::parse(raw)?,
            },
            awaiting_reply: parse_bool("awaiting_reply", self.awaiting_reply.as_deref())?,
            user_id: self.user_id.map(UserId::parse).transpose()?,
            q: self.q,
            limit: parse_limit(self.limit.as_deref(), 100)?,
            cursor: self.cursor,
        })
    }
}

/// List conversations: a user's own, or (admins) all; most recent activity
/// first.
#[utoipa::path(
    get,
    path = "/conversations",
    tag = "conversations",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of conversations", body = ConversationPageBody),
        (status = 400, description = "Invalid query", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn list(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ConversationPageBody>, Problem> {
    let request = query.into_request()?;
    let page = api
        .support()
        .conversations(&caller.principal, request)
        .await?;
    Ok(Json(page.into()))
}

/// One conversation.
#[utoipa::path(
    get,
    path = "/conversations/{id}",
    tag = "conversations",
    params(("id" = Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation", body = ConversationBody),
        (status = 400, description = "Malformed id", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not the caller's", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn get_one(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ConversationBody>, Problem> {
    let view = api
        .support()
        .conversation(&caller.principal, ConversationId::from_uuid(id))
        .await?;
    Ok(Json(view.into()))
}

/// Close (resolve) a conversation. Admins; idempotent.
#[utoipa::path(
    post,
    path = "/conversations/{id}/close",
    tag = "conversations",
    params(("id" = Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The closed conversation", body = ConversationBody),
        (status = 400, description = "Malformed id", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not the caller's", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn close(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ConversationBody>, Problem> {
    set_status(&api, &caller, id, ConversationStatus::Closed).await
}

/// Reopen a conversation. Admins; idempotent; 409 when the user already
/// has another open conversation.
#[utoipa::path(
    post,
    path = "/conversations/{id}/reopen",
    tag = "conversations",
    params(("id" = Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The open conversation", body = ConversationBody),
        (status = 400, description = "Malformed id", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not the caller's", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The user has another open conversation", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn reopen(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ConversationBody>, Problem> {
    set_status(&api, &caller, id, ConversationStatus::Open).await
}

async fn set_status(
    api: &SupportApi,
    caller: &crate::auth::Authenticated,
    id: Uuid,
    status: ConversationStatus,
) -> Result<Json<ConversationBody>, Problem> {
    let id = ConversationId::from_uuid(id);
    let (support, who) = (api.support(), &caller.principal);
    let view = match status {
        ConversationStatus::Closed => support.close(who, id).await?,
        ConversationStatus::Open => support.reopen(who, id).await?,
    };
    Ok(Json(view.into()))
}
