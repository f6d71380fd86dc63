//! The cast (users and admins) and the clock of a history.

use chrono::{DateTime, Duration, Utc};
use support_core::{Principal, UserId};

use super::*;

pub(crate) fn is_admin(actor: usize) -> bool {
    actor >= USERS
}

pub(crate) fn principal(actor: usize) -> Principal {
    if is_admin(actor) {
        Principal::admin(UserId::parse(format!("admin-{}", actor - USERS)).expect("valid id"))
    } else {
        Principal::user(UserId::parse(format!("user-{actor}")).expect("valid id"))
    }
}

pub(crate) fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
        .expect("valid time")
        .with_timezone(&Utc)
}

/// The clock moves one second before each step.
pub(crate) fn time_of_step(step: usize) -> DateTime<Utc> {
    start_time() + Duration::seconds(i64::try_from(step).expect("few steps") + 1)
}
