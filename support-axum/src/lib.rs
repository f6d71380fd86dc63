//! # support-axum
//!
//! The HTTP face of an embeddable support inbox: a JSON API, live events
//! over server-sent events, and an OpenAPI 3.1 document, as one Axum
//! [`Router`](axum::Router) a host app nests under any prefix.
//!
//! Identity stays with the host: implement [`IdentityProvider`], or use
//! [`JwtIdentity`] (HS256 bearer tokens, or the `support_token` cookie for
//! pages, with cross-site writes refused). Errors are RFC 9457 problem
//! details ([`Problem`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::Router;
//! use support_axum::{JwtIdentity, SupportApi};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let storage = support_sqlx::SqliteStorage::connect("sqlite:support.db").await?;
//! let api = SupportApi::builder(Arc::new(storage), JwtIdentity::hs256("a long shared secret"))
//!     .build()
//!     .await?;
//! let app: Router = Router::new().nest("/api/support", support_axum::router(api.clone()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app)
//!     .with_graceful_shutdown(async move {
//!         let _ = tokio::signal::ctrl_c().await;
//!         api.shutdown(); // end live streams so shutdown can complete
//!     })
//!     .await?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod api;
pub mod auth;
mod extract;
pub mod html;
pub mod live;
pub mod outbound;
#[cfg(feature = "pages")]
pub mod pages;
mod problem;
mod routes;
pub mod wire;

pub use api::{ApiConfig, Caller, SupportApi, SupportApiBuilder};
pub use auth::{Authenticated, IdentityProvider, JwtIdentity};
pub use problem::{Problem, ProblemBody};
pub use routes::{ROUTES, openapi, router};

/// The README's Rust snippets, compiled as doctests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
