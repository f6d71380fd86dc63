//! Extractors whose rejections are problem details.

use axum::extract::{FromRequest, FromRequestParts};

use crate::problem::Problem;

/// JSON body; malformed JSON, wrong types and unknown fields are 400, a
/// body over the limit 413.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub(crate) struct ApiJson<T>(pub T);

/// Query string.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub(crate) struct ApiQuery<T>(pub T);

/// Path parameters; a malformed id is 400.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub(crate) struct ApiPath<T>(pub T);
