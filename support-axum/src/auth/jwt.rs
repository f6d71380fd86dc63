//! HS256 JWT identity: `Authorization: Bearer <token>`, or the
//! `support_token` cookie for the pages.

use std::fmt;

use async_trait::async_trait;
use axum::http::header;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use support_core::{Principal, Role, UserId};

use super::{AuthError, Authenticated, IdentityProvider, Profile};

/// Name of the cookie the pages authenticate with.
pub const TOKEN_COOKIE: &str = "support_token";

/// The claims of a support token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id in the host (1 to 128 characters).
    pub sub: String,
    /// `user` or `admin`.
    pub role: ClaimsRole,
    /// Expiry, seconds since the Unix epoch. Required.
    pub exp: i64,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("sub", &self.sub)
            .field("role", &self.role)
            .field("exp", &self.exp)
            .field("name", &self.name)
            .field("email", &self.email.as_ref().map(|_| "<redacted>"))
            .field("phone", &self.phone.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The `role` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimsRole {
    /// A user.
    User,
    /// An admin.
    Admin,
}

/// Failure to issue a token.
#[derive(Debug, thiserror::Error)]
#[error("cannot issue token")]
pub struct TokenError(#[source] jsonwebtoken::errors::Error);

/// Verifies HS256 tokens signed with a shared secret. Only HS256 is
/// accepted, `exp` is required, and a bearer header wins over the cookie.
#[derive(Clone)]
pub struct JwtIdentity {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
}

impl fmt::Debug for JwtIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtIdentity { secret: <redacted> }")
    }
}

impl JwtIdentity {
    /// Tokens signed with `secret`.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Self {
        let secret = secret.as_ref();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_exp = true;
        validation.leeway = 5;
        Self {
            decoding: DecodingKey::from_secret(secret),
            encoding: EncodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs `claims` (for demos, tests and hosts that mint tokens here).
    pub fn issue(&self, claims: &Claims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(TokenError)
    }

    /// Verifies a token and returns who it names.
    pub fn verify(&self, token: &str) -> Result<(Principal, Profile), AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| AuthError::Invalid(describe(&e)))?;
        let claims = data.claims;
        let id = UserId::parse(claims.sub)
            .map_err(|_| AuthError::Invalid("`sub` must be 1 to 128 characters".into()))?;
        let role = match claims.role {
            ClaimsRole::User => Role::User,
            ClaimsRole::Admin => Role::Admin,
        };
        Ok((
            Principal { id, role },
            Profile {
                name: claims.name,
                email: claims.email,
                phone: claims.phone,
            },
        ))
    }
}

fn describe(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::InvalidSignature => "the token's signature does not verify".into(),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            "only HS256 tokens are accepted".into()
        }
        ErrorKind::MissingRequiredClaim(claim) => format!("the token lacks the `{claim}` claim"),
        _ => "the token is malformed".into(),
    }
}

#[async_trait]
impl IdentityProvider for JwtIdentity {
    async fn authenticate(&self, request: &Parts) -> Result<Authenticated, AuthError> {
        if let Some(value) = request.headers.get(header::AUTHORIZATION) {
            let value = value
                .to_str()
                .map_err(|_| AuthError::Invalid("malformed Authorization header".into()))?;
            let token = bearer_token(value).ok_or_else(|| {
                AuthError::Invalid("the Authorization header must be `Bearer <token>`".into())
            })?;
            let (principal, profile) = self.verify(token)?;
            return Ok(Authenticated {
                principal,
                profile,
                ambient: false,
            });
        }
        match cookie(request, TOKEN_COOKIE) {
            Some(token) => {
                let (principal, profile) = self.verify(token)?;
                Ok(Authenticated {
                    principal,
                    profile,
                    ambient: true,
                })
            }
            None => Err(AuthError::Missing),
        }
    }
}

fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The value of cookie `name`, from any `Cookie` header.
fn cookie<'a>(request: &'a Parts, name: &str) -> Option<&'a str> {
    request
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(role: ClaimsRole, exp: i64) -> Claims {
        Claims {
            sub: "alice".into(),
            role,
            exp,
            name: None,
            email: Some("alice@example.com".into()),
            phone: None,
        }
    }

    fn future() -> i64 {
        chrono::Utc::now().timestamp() + 3600
    }

    #[test]
    fn round_trips_and_rejects_tampering_expiry_and_other_secrets() {
        let identity = JwtIdentity::hs256("secret-1");
        let token = identity
            .issue(&claims(ClaimsRole::Admin, future()))
            .expect("issue");
        let (principal, profile) = identity.verify(&token).expect("verify");
        assert_eq!(principal.role, Role::Admin);
        assert_eq!(profile.email.as_deref(), Some("alice@example.com"));

        assert!(JwtIdentity::hs256("secret-2").verify(&token).is_err());
        let expired = identity
            .issue(&claims(
                ClaimsRole::User,
                chrono::Utc::now().timestamp() - 120,
            ))
            .expect("issue");
        assert_eq!(
            identity.verify(&expired),
            Err(AuthError::Invalid("the token has expired".into()))
        );
        let mut tampered = token.clone();
        tampered.insert(tampered.len() / 2, 'x');
        assert!(identity.verify(&tampered).is_err());
    }

    #[test]
    fn rejects_other_algorithms_and_missing_exp() {
        let identity = JwtIdentity::hs256("secret");
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims(ClaimsRole::User, future()),
            &EncodingKey::from_secret(b"secret"),
        )
        .expect("encode");
        assert!(identity.verify(&hs512).is_err());
        let no_exp = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "alice", "role": "user"}),
            &EncodingKey::from_secret(b"secret"),
        )
        .expect("encode");
        assert!(identity.verify(&no_exp).is_err());
        let bad_role = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "alice", "role": "root", "exp": future()}),
            &EncodingKey::from_secret(b"secret"),
        )
        .expect("encode");
        assert!(identity.verify(&bad_role).is_err());
    }

    #[test]
    fn claims_debug_hides_contact_details() {
        let text = format!("{:?}", claims(ClaimsRole::User, 0));
        assert!(!text.contains("alice@example.com"), "{text}");
    }

    #[test]
    fn parses_bearer_headers() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
