//! The web pages: the user's support chat and the admin support desk,
//! served as embedded static assets (HTML, CSS, JavaScript modules; nothing
//! to build, nothing fetched from elsewhere).
//!
//! [`router`] serves three pages and their assets at the paths of a
//! [`PagesConfig`], for the host to `merge` (the pages link to each other
//! by absolute path, so they are not `nest`ed):
//!
//! - the user page (`/support`): every conversation of the caller in one
//!   thread, live;
//! - the admin dashboard (`/admin/support`): the inbox and the analytics;
//! - one conversation (`/admin/support/{id}`): history, reply, resolve.
//!
//! A page load authenticates the caller with the API's
//! [`IdentityProvider`](crate::IdentityProvider) (the `support_token` cookie
//! for [`JwtIdentity`](crate::JwtIdentity)): without credentials it
//! redirects to [`PagesConfig::login_url`], an admin on the user page goes
//! to the desk, a user on the desk gets 403. Every HTML response carries a
//! Content-Security-Policy without inline scripts or styles; message content
//! is only ever rendered as text by the scripts.
//!
//! The pages are built from custom elements a host can use in its own pages
//! too (`<support-chat>`, `<support-message>`, `<support-input>`,
//! `<conversation-list>`, `<conversation-preview>`, `<support-analytics>`,
//! `<support-button>`): include `{assets}/support.css` and the module
//! `{assets}/support.js`, and put `<meta name="support-api" content="/api/support">`
//! in the page (or an `api` attribute on an element).
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::Router;
//! use support_axum::{JwtIdentity, SupportApi, pages};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let storage = support_sqlx::SqliteStorage::connect("sqlite:support.db").await?;
//! let api = SupportApi::builder(Arc::new(storage), JwtIdentity::hs256("a long shared secret"))
//!     .build()
//!     .await?;
//! let app: Router = Router::new()
//!     .nest("/api/support", support_axum::router(api.clone()))
//!     .merge(pages::router(api, pages::PagesConfig::default()));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

mod assets;
mod html;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use uuid::Uuid;

use crate::api::SupportApi;
use crate::auth::Authenticated;

pub use assets::{ASSETS, Asset};
pub use html::CONTENT_SECURITY_POLICY;

/// Where the pages, their assets and the API live. Paths are absolute
/// (start with `/`) and without a trailing slash.
#[derive(Clone, Debug)]
pub struct PagesConfig {
    /// Where the host nests [`crate::router`] (default `/api/support`).
    pub api_base: String,
    /// The user's page (default `/support`).
    pub user_path: String,
    /// The admin dashboard (default `/admin/support`); one conversation is
    /// at `{admin_path}/{id}`.
    pub admin_path: String,
    /// Where the static assets are served (default `/support/assets`).
    pub assets_path: String,
    /// Where a signed-out visitor is sent (the host's login). `None`: a
    /// page that says to sign in.
    pub login_url: Option<String>,
    /// The product name in page titles and headings (default `Support`).
    pub title: String,
}

impl Default for PagesConfig {
    fn default() -> Self {
        Self {
            api_base: "/api/support".to_owned(),
            user_path: "/support".to_owned(),
            admin_path: "/admin/support".to_owned(),
            assets_path: "/support/assets".to_owned(),
            login_url: None,
            title: "Support".to_owned(),
        }
    }
}

#[derive(Clone)]
struct PagesState {
    api: SupportApi,
    config: std::sync::Arc<PagesConfig>,
}

/// The pages and their assets, with their state applied, for the host to
/// `merge`. Adds no middleware: each response sets its own security
/// headers.
pub fn router<S>(api: SupportApi, config: PagesConfig) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let state = PagesState {
        api,
        config: std::sync::Arc::new(config),
    };
    let c = &state.config;
    Router::new()
        .route(&c.user_path, get(user_page))
        .route(&c.admin_path, get(admin_dashboard))
        .route(&format!("{}/{{id}}", c.admin_path), get(admin_conversation))
        .route(&format!("{}/{{file}}", c.assets_path), get(asset))
        .with_state(state)
}

/// Who asks for a page, or `None` when signed out (or the token is bad).
async fn viewer(state: &PagesState, parts: &Parts) -> Option<Authenticated> {
    state.api.identity().authenticate(parts).await.ok()
}

fn signed_out(config: &PagesConfig) -> Response {
    match &config.login_url {
        Some(url) => Redirect::to(url).into_response(),
        None => html::notice(
            config,
            StatusCode::UNAUTHORIZED,
            "Please sign in",
            "You need to be signed in to use support.",
        ),
    }
}

async fn user_page(State(state): State<PagesState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let config = &state.config;
    match viewer(&state, &parts).await {
        None => signed_out(config),
        Some(who) if who.principal.is_admin() => Redirect::to(&config.admin_path).into_response(),
        Some(who) => html::page(config, html::View::User, &who),
    }
}

async fn admin_dashboard(State(state): State<PagesState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    admin(&state, &parts, html::View::Desk(None)).await
}

async fn admin_conversation(
    State(state): State<PagesState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return html::notice(
            &state.config,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such conversation.",
        );
    };
    let (parts, _) = request.into_parts();
    admin(&state, &parts, html::View::Desk(Some(id))).await
}

async fn admin(state: &PagesState, parts: &Parts, view: html::View) -> Response {
    let config = &state.config;
    match viewer(state, parts).await {
        None => signed_out(config),
        Some(who) if !who.principal.is_admin() => html::notice(
            config,
            StatusCode::FORBIDDEN,
            "For the support team",
            "This page is for the support team. Your own conversations are on the support page.",
        ),
        Some(who) => html::page(config, view, &who),
    }
}

async fn asset(Path(file): Path<String>, request: Request) -> Response {
    assets::serve(&file, request.headers())
}
