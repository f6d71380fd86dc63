//! Demo mode: a random secret per start and ready-made tokens, so the desk
//! can be tried with nothing set up. Never active with a configured secret.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, Utc};
use serde::Deserialize;
use support_axum::JwtIdentity;
use support_axum::auth::{Claims, ClaimsRole, OriginPolicy, TOKEN_COOKIE, TokenError};
use support_axum::html;
use support_axum::pages::CONTENT_SECURITY_POLICY;

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
        "  Pages: sign in at {base_url}{LOGIN_PATH}\n  \
         API document: {base_url}/api/support/openapi.json\n\
         ===================================================\n"
    ));
    text
}

/// The demo login page: pick a demo person, get their token as the pages'
/// cookie. Mounted only in demo mode.
pub const LOGIN_PATH: &str = "/demo/login";
/// Signs out of the demo (clears the cookie).
pub const LOGOUT_PATH: &str = "/demo/logout";

/// `GET` and `POST` [`LOGIN_PATH`], `POST` [`LOGOUT_PATH`].
pub fn login_router(users: Vec<DemoUser>) -> Router {
    let users: Arc<[DemoUser]> = users.into();
    Router::new()
        .route(LOGIN_PATH, get(login_page).post(log_in))
        .route(LOGOUT_PATH, post(log_out))
        .with_state(users)
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
}

async fn login_page(State(users): State<Arc<[DemoUser]>>) -> Response {
    let mut items = String::new();
    for user in users.iter() {
        let role = if user.admin {
            "Support team · opens the desk"
        } else {
            "User · opens the support chat"
        };
        items.push_str(&format!(
            "<li><form method=\"post\" action=\"{LOGIN_PATH}\">\
             <input type=\"hidden\" name=\"user\" value=\"{id}\">\
             <button type=\"submit\"><span class=\"sp-avatar sp-hue-{hue}\" aria-hidden=\"true\">{initial}</span>\
             <span class=\"sp-login-text\"><span class=\"sp-login-name\">{name}</span>\
             <span class=\"sp-login-role\">{role}</span></span></button>\
             </form></li>",
            id = html::escape(user.id),
            hue = user.id.len() % 8,
            initial = html::escape(&user.name.chars().take(1).collect::<String>()),
            name = html::escape(user.name),
        ));
    }
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>Demo sign-in · Support</title>\
         <link rel=\"icon\" href=\"{assets}/icon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"{assets}/support.css\"></head>\
         <body class=\"sp-page\"><main class=\"sp-login\">\
         <img src=\"{assets}/icon.svg\" alt=\"\" width=\"44\" height=\"44\">\
         <h1>Try the support desk</h1>\
         <p>Demo mode: sign in as one of these people. Open a second browser \
         (or a private window) to be the user and the team at once.</p>\
         <ul class=\"sp-login-list\">{items}</ul></main></body></html>",
        assets = crate::ASSETS,
    );
    html(StatusCode::OK, body)
}

async fn log_in(State(users): State<Arc<[DemoUser]>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if !OriginPolicy::default().allows(&parts) {
        return (StatusCode::FORBIDDEN, "cross-site sign-in refused").into_response();
    }
    let Ok(Form(form)) =
        Form::<LoginForm>::from_request(Request::from_parts(parts, body), &()).await
    else {
        return (StatusCode::BAD_REQUEST, "pick a demo person").into_response();
    };
    let Some(user) = users.iter().find(|u| u.id == form.user) else {
        return Redirect::to(LOGIN_PATH).into_response();
    };
    let cookie = format!(
        "{TOKEN_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age=86400",
        user.token
    );
    let target = if user.admin {
        crate::ADMIN_PAGE
    } else {
        crate::USER_PAGE
    };
    redirect_with_cookie(target, &cookie)
}

async fn log_out() -> Response {
    redirect_with_cookie(
        LOGIN_PATH,
        &format!("{TOKEN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    )
}

fn redirect_with_cookie(target: &'static str, cookie: &str) -> Response {
    let mut response = Redirect::to(target).into_response();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
