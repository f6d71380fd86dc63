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

/// Classifies an error of the SQLite writer connection (rusqlite), like
/// [`classify`].
#[cfg(feature = "sqlite")]
pub(crate) fn classify_rusqlite_write(error: rusqlite::Error, write: Write) -> StorageError {
    use rusqlite::ErrorCode;
    // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY.
    const UNIQUE: [i32; 2] = [2067, 1555];
    let Some(failure) = error.sqlite_error() else {
        return StorageError::Backend(Box::new(error));
    };
    match failure.code {
        ErrorCode::ConstraintViolation if UNIQUE.contains(&failure.extended_code) => {
            StorageError::WriteConflict(match write {
                Write::Conversation => WriteConflict::OpenConversationExists,
                Write::Message => WriteConflict::DuplicateClientId,
                Write::Other => WriteConflict::Serialization,
            })
        }
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
            StorageError::WriteConflict(WriteConflict::Serialization)
        }
        ErrorCode::CannotOpen | ErrorCode::NotADatabase | ErrorCode::ReadOnly => {
            StorageError::Unavailable(Box::new(error))
        }
        _ => StorageError::Backend(Box::new(error)),
    }
}

/// Shorthand for writer statements without a unique index of interest.
#[cfg(feature = "sqlite")]
pub(crate) fn classify_rusqlite(error: rusqlite::Error) -> StorageError {
    classify_rusqlite_write(error, Write::Other)
}
