//! The notification queue, switches and contacts: SQL shared by both
//! dialects, row shapes, and the methods the storage macro delegates to.
//!
//! Jobs enter the queue only through `WriteTx::commit_with_outbox`, in the
//! transaction of the write that causes them. Workers claim due jobs with a
//! lease token (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's single
//! writer serializes claims), and report outcomes with that token, so a
//! worker whose lease ran out and was taken over changes nothing.

use support_core::notification::{
    Channel, ClaimedJob, Contact, Job, JobId, JobOutcome, JobState, NotificationKind, Preference,
    Recipient,
};
use support_core::{ConversationId, StorageError, UserId};
use uuid::Uuid;

use crate::rows::{corrupt, time};

macro_rules! job_columns {
    () => {
        "id, kind, channel, recipient, conversation_id, state, attempts, due_at, lease_until, \
         last_error, created_at, updated_at"
    };
}
pub(crate) use job_columns;

/// Cancels a conversation's scheduled jobs of a kind: $1 conversation,
/// $2 kind, $3 reason, $4 now.
pub(crate) const CANCEL_SCHEDULED: &str = "UPDATE support_jobs \
     SET state = 'cancelled', last_error = $3, updated_at = $4 \
     WHERE conversation_id = $1 AND kind = $2 AND state = 'scheduled'";

/// Enqueues a job unless a scheduled one holds its coalesce key.
pub(crate) const INSERT_JOB: &str = "INSERT INTO support_jobs \
     (id, kind, channel, recipient, conversation_id, coalesce_key, state, attempts, due_at, \
      created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', 0, $7, $8, $8) \
     ON CONFLICT DO NOTHING";

/// The jobs a claim may take at $1 (now): due waiting ones, and running
/// ones whose lease ran out. The dialect appends its locking clause.
macro_rules! claimable {
    () => {
        "SELECT id FROM support_jobs \
         WHERE (state IN ('scheduled', 'retrying') AND due_at <= $1) \
            OR (state = 'running' AND lease_until <= $1) \
         ORDER BY due_at LIMIT $4"
    };
}
pub(crate) use claimable;

/// Leases the selected jobs: $1 now, $2 lease end, $3 lease token.
macro_rules! claim_jobs {
    ($select:expr) => {
        concat!(
            "UPDATE support_jobs SET state = 'running', attempts = attempts + 1, \
             lease_token = $3, lease_until = $2, updated_at = $1 WHERE id IN (",
            $select,
            ") RETURNING ",
            $crate::outbox::job_columns!()
        )
    };
}
pub(crate) use claim_jobs;

/// Ends a claim: $1 id, $2 lease token, $3 state, $4 next due time (or
/// NULL to keep it), $5 error, $6 now.
pub(crate) const FINISH_JOB: &str = "UPDATE support_jobs \
     SET state = $3, due_at = COALESCE($4, due_at), last_error = $5, lease_token = NULL, \
         lease_until = NULL, updated_at = $6 \
     WHERE id = $1 AND lease_token = $2 AND state = 'running'";

pub(crate) const JOBS_SELECT: &str =
    concat!("SELECT ", job_columns!(), " FROM support_jobs WHERE 1 = 1");

pub(crate) const PREFERENCES_OF: &str = "SELECT kind, channel, enabled \
     FROM support_notification_preferences WHERE user_id = $1";

pub(crate) const UPSERT_PREFERENCE: &str = "INSERT INTO support_notification_preferences \
     (user_id, kind, channel, enabled, updated_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (user_id, kind, channel) \
     DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at";

pub(crate) const CONTACT_OF: &str =
    "SELECT name, email, phone FROM support_contacts WHERE user_id = $1";

pub(crate) const UPSERT_CONTACT: &str = "INSERT INTO support_contacts \
     (user_id, name, email, phone, updated_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, email = excluded.email, \
     phone = excluded.phone, updated_at = excluded.updated_at";

/// The stored state and fields of an outcome: (state, next due, error).
pub(crate) fn outcome_columns(outcome: &JobOutcome) -> (&'static str, Option<i64>, Option<String>) {
    match outcome {
        JobOutcome::Done => (JobState::Done.as_str(), None, None),
        JobOutcome::Retry { at, error } => (
            JobState::Retrying.as_str(),
            Some(crate::rows::micros(*at)),
            Some(error.clone()),
        ),
        JobOutcome::Cancelled { reason } => (
            JobState::Cancelled.as_str(),
            None,
            Some(reason.as_str().to_owned()),
        ),
        JobOutcome::Dead { error } => (JobState::Dead.as_str(), None, Some(error.clone())),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct JobRecord {
    id: Uuid,
    kind: String,
    channel: String,
    recipient: Option<String>,
    conversation_id: Uuid,
    state: String,
    attempts: i64,
    due_at: i64,
    lease_until: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<JobRecord> for Job {
    type Error = StorageError;
    fn try_from(row: JobRecord) -> Result<Self, StorageError> {
        Ok(Self {
            id: JobId::from_uuid(row.id),
            kind: kind(&row.kind)?,
            channel: channel(&row.channel)?,
            recipient: match row.recipient {
                Some(user) => Recipient::User(
                    UserId::parse(user).map_err(|e| StorageError::Backend(Box::new(e)))?,
                ),
                None => Recipient::Team,
            },
            conversation_id: ConversationId::from_uuid(row.conversation_id),
            state: JobState::parse(&row.state)
                .ok_or_else(|| corrupt(format!("unknown job state {:?}", row.state)))?,
            attempts: u32::try_from(row.attempts)
                .map_err(|_| corrupt(format!("job attempts {} out of range", row.attempts)))?,
            due_at: time(row.due_at)?,
            lease_until: row.lease_until.map(time).transpose()?,
            last_error: row.last_error,
            created_at: time(row.created_at)?,
            updated_at: time(row.updated_at)?,
        })
    }
}

/// Claimed rows, with the token they were leased under.
pub(crate) fn claimed(rows: Vec<JobRecord>, token: Uuid) -> Result<Vec<ClaimedJob>, StorageError> {
    let mut jobs = rows
        .into_iter()
        .map(|row| {
            Ok(ClaimedJob {
                job: Job::try_from(row)?,
                lease_token: token,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    jobs.sort_by_key(|claim| (claim.job.due_at, claim.job.id));
    Ok(jobs)
}

fn kind(raw: &str) -> Result<NotificationKind, StorageError> {
    NotificationKind::parse(raw).ok_or_else(|| corrupt(format!("unknown job kind {raw:?}")))
}

fn channel(raw: &str) -> Result<Channel, StorageError> {
    Channel::parse(raw).ok_or_else(|| corrupt(format!("unknown channel {raw:?}")))
}

#[derive(sqlx::FromRow)]
pub(crate) struct PreferenceRecord {
    kind: String,
    channel: String,
    enabled: bool,
}

impl TryFrom<PreferenceRecord> for Preference {
    type Error = StorageError;
    fn try_from(row: PreferenceRecord) -> Result<Self, StorageError> {
        Ok(Self {
            kind: kind(&row.kind)?,
            channel: channel(&row.channel)?,
            enabled: row.enabled,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ContactRecord {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

impl From<ContactRecord> for Contact {
    fn from(row: ContactRecord) -> Self {
        Self {
            name: row.name,
            email: row.email,
            phone: row.phone,
        }
    }
}
