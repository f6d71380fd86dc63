//! Demo mode: a random secret per start and ready-made tokens, so the desk
//! can be tried with nothing set up. Never active with a configured secret.

use chrono::{Duration, Utc};
use support_axum::JwtIdentity;
use support_axum::auth::{Claims, ClaimsRole, TokenError};

/// A demo person and their token.
#[derive(Clone, Debug)]
pub struct DemoUser {
    /// User id.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Whether an admin.
    pub admin: bool,
    /// A token valid for a day.
    pub token: String,
}

/// The demo cast: two users and an admin.
pub const CAST: [(&str, &str, bool); 3] = [
    ("alice", "Alice Example", false),
    ("bob", "Bob Example", false),
    ("ada", "Ada (Support)", true),
];

/// A random secret for this run.
pub fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Tokens for the demo cast.
pub fn users(identity: &JwtIdentity) -> Result<Vec<DemoUser>, TokenError> {
    let exp = (Utc::now() + Duration::days(1)).timestamp();
    CAST.iter()
        .map(|&(id, name, admin)| {
            let token = identity.issue(&Claims {
                sub: id.to_owned(),
                role: if admin {
                    ClaimsRole::Admin
                } else {
                    ClaimsRole::User
                },
                exp,
                name: Some(name.to_owned()),
                email: Some(format!("{id}@demo.invalid")),
                phone: None,
            })?;
            Ok(DemoUser {
                id,
                name,
                admin,
                token,
            })
        })
        .collect()
}

/// The banner printed at start in demo mode.
pub fn banner(base_url: &str, users: &[DemoUser]) -> String {
    let mut text = String::new();
    text.push_str("\n==================== DEMO MODE ====================\n");
    text.push_str("No SUPPORT_JWT_SECRET is set: this run uses a random secret\n");
    text.push_str("and the demo users below. Do not use demo mode in production.\n\n");
    for user in users {
        let role = if user.admin { "admin" } else { "user" };
        text.push_str(&format!(
            "{} ({role}, id {}):\n  {}\n",
            user.name, user.id, user.token
        ));
    }
    if let Some(alice) = users.iter().find(|u| !u.admin) {
        text.push_str(&format!(
            "\nTry it:\n  curl -s -X POST {base_url}/api/support/messages \\\n    \
             -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' \\\n    \
             -d '{{\"content\": \"Hello, I need help\"}}'\n",
            alice.token
        ));
    }
    text.push_str(&format!(
        "  API document: {base_url}/api/support/openapi.json\n\
         ===================================================\n"
    ));
    text
}
