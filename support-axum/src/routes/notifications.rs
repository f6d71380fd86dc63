//! Notification preferences (everyone, their own) and the queue (admins).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use support_core::{JobQuery, JobState, Preference};
use utoipa::IntoParams;

use super::conversations::parse_limit;
use crate::api::{Caller, SupportApi};
use crate::extract::{ApiJson, ApiQuery};
use crate::problem::{Problem, ProblemBody};
use crate::wire::{JobBody, JobsBody, PreferenceBody, PreferencesBody};

fn body(preferences: Vec<Preference>) -> PreferencesBody {
    PreferencesBody {
        preferences: preferences.into_iter().map(PreferenceBody::from).collect(),
    }
}

/// The caller's notification switches: every kind × channel, on unless
/// switched off.
#[utoipa::path(
    get,
    path = "/preferences",
    tag = "notifications",
    responses(
        (status = 200, description = "Every switch", body = PreferencesBody),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn get_preferences(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
) -> Result<Json<PreferencesBody>, Problem> {
    let preferences = api.support().preferences(&caller.principal).await?;
    Ok(Json(body(preferences)))
}

/// Changes the caller's switches named in the body (others stay) and
/// returns them all.
#[utoipa::path(
    put,
    path = "/preferences",
    tag = "notifications",
    request_body = PreferencesBody,
    responses(
        (status = 200, description = "Every switch, after the change", body = PreferencesBody),
        (status = 400, description = "Invalid body (unknown kind or channel, a switch named twice)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "A cross-origin cookie write", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn put_preferences(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiJson(change): ApiJson<PreferencesBody>,
) -> Result<Json<PreferencesBody>, Problem> {
    let changes: Vec<Preference> = change
        .preferences
        .into_iter()
        .map(Preference::from)
        .collect();
    let preferences = api
        .support()
        .set_preferences(&caller.principal, &changes)
        .await?;
    Ok(Json(body(preferences)))
}

/// Query of `GET /notifications`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct JobsQuery {
    /// `pending` (scheduled, running or retrying), `dead`, `done`,
    /// `cancelled`, `scheduled`, `running`, `retrying` or `all` (default).
    state: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<String>,
}

/// The notification queue, newest first (admins): pending and dead jobs,
/// and what became of the others.
#[utoipa::path(
    get,
    path = "/notifications",
    tag = "notifications",
    params(JobsQuery),
    responses(
        (status = 200, description = "Jobs, newest first", body = JobsBody),
        (status = 400, description = "Invalid query", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn jobs(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<JobsQuery>,
) -> Result<Json<JobsBody>, Problem> {
    let states = match query.state.as_deref() {
        None | Some("all") => Vec::new(),
        Some("pending") => JobState::ALL
            .into_iter()
            .filter(|s| s.is_pending())
            .collect(),
        Some(raw) => vec![JobState::parse(raw).ok_or_else(|| {
            Problem::invalid(
                "state",
                "state must be pending, dead, done, cancelled, scheduled, running, retrying or all",
            )
        })?],
    };
    let limit = parse_limit(query.limit.as_deref(), JobQuery::MAX_LIMIT)?
        .unwrap_or(JobQuery::DEFAULT_LIMIT);
    let jobs = api
        .support()
        .notification_jobs(&caller.principal, JobQuery { states, limit })
        .await?;
    Ok(Json(JobsBody {
        items: jobs.into_iter().map(JobBody::from).collect(),
    }))
}
