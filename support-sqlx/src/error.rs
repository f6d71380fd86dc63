//! Classifying sqlx errors into [`StorageError`], keeping the source.

use support_core::{StorageError, WriteConflict};

/// Which write an error came from, to name the invariant a unique
/// violation broke.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Write {
    Conversation,
    Message,
    Other,
}

/// Classifies an sqlx error. `write` names the statement, for unique
/// violations.
pub(crate) fn classify(error: sqlx::Error, write: Write) -> StorageError {
    match &error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StorageError::Unavailable(Box::new(error))
        }
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return StorageError::WriteConflict(match write {
                    Write::Conversation => WriteConflict::OpenConversationExists,
                    Write::Message => WriteConflict::DuplicateClientId,
                    Write::Other => WriteConflict::Serialization,
                });
            }
            match db.code().as_deref() {
                // PostgreSQL: serialization_failure, deadlock_detected.
                Some("40001") | Some("40P01") => {
                    StorageError::WriteConflict(WriteConflict::Serialization)
                }
                // SQLite: SQLITE_BUSY, SQLITE_LOCKED (with extended codes).
                Some(code) if is_sqlite_busy(code) => {
                    StorageError::WriteConflict(WriteConflict::Serialization)
                }
                // PostgreSQL: too_many_connections, cannot_connect_now,
                // admin/crash shutdown.
                Some("53300") | Some("57P03") | Some("57P01") | Some("57P02") => {
                    StorageError::Unavailable(Box::new(error))
                }
                _ => StorageError::Backend(Box::new(error)),
            }
        }
        _ => StorageError::Backend(Box::new(error)),
    }
}

fn is_sqlite_busy(code: &str) -> bool {
    code.parse::<i32>()
        .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

/// Shorthand for reads and writes without a unique index of interest.
pub(crate) fn backend(error: sqlx::Error) -> StorageError {
    classify(error, Write::Other)
}
