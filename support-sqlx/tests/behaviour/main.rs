//! The behaviour suite: every rule of support-core, proven against real
//! SQLite and real PostgreSQL. Each test body is an `async fn(Desk)`;
//! `on_every_backend!` runs it on both.
#![allow(unreachable_pub, missing_docs)]

#[macro_use]
mod common;

mod analytics;
mod events;
mod group_commit;
mod history;
mod idempotency;
mod inbox;
mod lifecycle;
mod migrations;
mod notifications;
mod races;
mod seen;
mod sqlite_setup;
mod tail;
mod validation;
mod visibility;
