//! Errors: closed enums that keep their source. The HTTP edge maps
//! [`SupportError`] to problem details once.

use std::borrow::Cow;
use std::fmt;

/// A boxed error from a backend, kept as the source of a [`StorageError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything an operation of [`crate::Support`] can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    /// The object does not exist, or the caller may not see it (the two are
    /// deliberately indistinguishable so existence does not leak).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for ("conversation", "message").
        what: &'static str,
    },
    /// The caller's role may not take this action.
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Why, in words safe to show the caller.
        reason: &'static str,
    },
    /// The action contradicts the current state (e.g. a user writing into
    /// their closed conversation).
    #[error("conflict: {reason}")]
    Conflict {
        /// Why, in words safe to show the caller.
        reason: Cow<'static, str>,
    },
    /// The input breaks a validation rule.
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// The storage backend failed.
    #[error("storage failed")]
    Storage(#[from] StorageError),
}

impl SupportError {
    pub(crate) fn not_found(what: &'static str) -> Self {
        Self::NotFound { what }
    }

    pub(crate) fn forbidden(reason: &'static str) -> Self {
        Self::Forbidden { reason }
    }

    pub(crate) fn conflict(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Conflict {
            reason: reason.into(),
        }
    }
}

/// A validation failure: which field, and what rule it broke.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct InvalidInput {
    /// The input field (as named in the HTTP contract).
    pub field: &'static str,
    /// The rule it broke, in words safe to show the caller.
    pub reason: Cow<'static, str>,
}

impl InvalidInput {
    /// A validation failure of `field`.
    pub fn new(field: &'static str, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// A failure reported by a [`crate::Storage`] implementation.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness rule enforced by the database stopped a concurrent write.
    /// The transaction is lost; [`crate::Support`] retries the whole
    /// operation, which then observes the winner's write.
    #[error("concurrent write conflict: {0}")]
    WriteConflict(WriteConflict),
    /// The backend cannot be reached or is overloaded (pool timeout, closed
    /// pool, connection refused). Worth retrying later.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Any other backend failure.
    #[error("storage backend error")]
    Backend(#[source] BoxError),
}

/// Which database-enforced invariant a concurrent writer ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteConflict {
    /// At most one open conversation per user.
    OpenConversationExists,
    /// `(author, client_id)` is unique.
    DuplicateClientId,
    /// Another writer changed the same rows (serialization failure,
    /// deadlock, busy database).
    Serialization,
}

impl fmt::Display for WriteConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OpenConversationExists => "the user already has an open conversation",
            Self::DuplicateClientId => "the author already used this client_id",
            Self::Serialization => "a concurrent transaction touched the same rows",
        })
    }
}
