//! RFC 9457 problem details: every error the API returns, in one shape.
//!
//! `{"type", "title", "status", "detail", "code"}` where `code` is a stable
//! machine word. Domain errors map here once; so do axum's own rejections
//! (malformed JSON, wrong types, bodies over the limit).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use support_core::{InvalidInput, StorageError, SupportError};
use utoipa::ToSchema;

/// An API error, rendered as `application/problem+json`.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: String,
    field: Option<&'static str>,
}

/// The JSON body of a [`Problem`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemBody {
    /// A URI naming the kind of problem: `urn:support:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// Stable machine word: `unauthenticated`, `forbidden`, `not_found`,
    /// `invalid_input`, `conflict`, `payload_too_large`, `rate_limited`,
    /// `unavailable`, `method_not_allowed`, `internal`.
    pub code: String,
    /// For `invalid_input`: the offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
        }
    }

    /// 500, saying nothing of the cause (log it where it happened).
    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred",
        )
    }

    /// 401: no usable credentials.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    /// 403: the caller may not take this action.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 400 about one input field.
    pub fn invalid(field: &'static str, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_input", detail)
        }
    }

    /// 400 about the request as a whole (malformed JSON, wrong types).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_input", detail)
    }

    /// 413.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", detail)
    }

    /// 429, for hosts that rate-limit in front of the router.
    pub fn rate_limited(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail)
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this method is not allowed on this resource",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine word.
    pub fn code(&self) -> &'static str {
        self.code
    }

    fn body(&self) -> ProblemBody {
        ProblemBody {
            kind: format!("urn:support:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            field: self.field.map(str::to_owned),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<InvalidInput> for Problem {
    fn from(error: InvalidInput) -> Self {
        Self::invalid(error.field, error.to_string())
    }
}

impl From<SupportError> for Problem {
    fn from(error: SupportError) -> Self {
        match error {
            SupportError::NotFound { what } => Self::not_found(format!("{what} not found")),
            SupportError::Forbidden { reason } => Self::forbidden(reason),
            SupportError::Conflict { reason } => {
                Self::new(StatusCode::CONFLICT, "conflict", reason)
            }
            SupportError::InvalidInput(invalid) => invalid.into(),
            SupportError::Storage(storage) => storage.into(),
        }
    }
}

impl From<StorageError> for Problem {
    fn from(error: StorageError) -> Self {
        // The cause goes to the log, never to the caller.
        tracing::error!(error = ?error, source = ?std::error::Error::source(&error), "storage failure");
        match error {
            StorageError::Unavailable(_) | StorageError::WriteConflict(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the service is temporarily unavailable; try again",
            ),
            StorageError::Backend(_) => Self::internal(),
        }
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::payload_too_large("the request body is too large");
        }
        Self::bad_request(rejection.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}
