//! Identity comes from the host: an [`IdentityProvider`] turns a request
//! into an [`Authenticated`] caller. [`JwtIdentity`] is the provided one.

mod csrf;
mod jwt;

use std::fmt;

use async_trait::async_trait;
use axum::http::request::Parts;
use support_core::Principal;

pub use csrf::OriginPolicy;
pub use jwt::{Claims, ClaimsRole, JwtIdentity, TOKEN_COOKIE, TokenError};

/// Contact details the host knows about a person, for notifications.
/// `Debug` keeps them out of logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// Display name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("email", &self.email.as_ref().map(|_| "<redacted>"))
            .field("phone", &self.phone.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A caller the host recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    /// Who, and with which role.
    pub principal: Principal,
    /// What else the host knows about them.
    pub profile: Profile,
    /// Whether the credential was one the browser attaches by itself (a
    /// cookie). Such requests are checked against cross-site forgery.
    pub ambient: bool,
}

/// Why a request is not authenticated. Rendered as 401.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials at all.
    #[error("missing credentials: send `Authorization: Bearer <token>`")]
    Missing,
    /// Credentials that do not verify.
    #[error("invalid credentials: {0}")]
    Invalid(String),
}

/// The host's way of identifying callers.
#[async_trait]
pub trait IdentityProvider: Send + Sync + 'static {
    /// Identifies the caller of a request.
    async fn authenticate(&self, request: &Parts) -> Result<Authenticated, AuthError>;
}
