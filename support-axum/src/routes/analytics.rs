//! Analytics (admins).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::{Caller, SupportApi};
use crate::extract::ApiQuery;
use crate::problem::{Problem, ProblemBody};
use crate::wire::AnalyticsBody;

/// Query of `GET /analytics`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AnalyticsQuery {
    /// RFC 3339 start (inclusive); default `to` minus 30 days.
    from: Option<String>,
    /// RFC 3339 end (exclusive); default now.
    to: Option<String>,
}

fn time(field: &'static str, raw: Option<String>) -> Result<Option<DateTime<Utc>>, Problem> {
    raw.map(|raw| {
        DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| Problem::invalid(field, format!("{field} must be an RFC 3339 timestamp")))
    })
    .transpose()
}

/// Support analytics over a time range.
#[utoipa::path(
    get,
    path = "/analytics",
    tag = "analytics",
    params(AnalyticsQuery),
    responses(
        (status = 200, description = "The report", body = AnalyticsBody),
        (status = 400, description = "Invalid range", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn analytics(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<AnalyticsQuery>,
) -> Result<Json<AnalyticsBody>, Problem> {
    let from = time("from", query.from)?;
    let to = time("to", query.to)?;
    let report = api.support().analytics(&caller.principal, from, to).await?;
    Ok(Json(report.into()))
}
