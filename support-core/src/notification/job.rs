//! Jobs: what core hands storage to keep, and what workers claim.

use chrono::{DateTime, Utc};

use super::{Channel, NotificationKind, SkipReason};
use crate::ids::{ConversationId, UserId};

pub use crate::ids::JobId;

/// Who a job is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// One person (a conversation's user).
    User(UserId),
    /// The support team, through the host's team channels.
    Team,
}

impl Recipient {
    /// The person, if the job is addressed to one.
    pub fn user(&self) -> Option<&UserId> {
        match self {
            Self::User(id) => Some(id),
            Self::Team => None,
        }
    }
}

/// A job as a write decides it, before storage keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// Id and delivery id.
    pub id: JobId,
    /// What about.
    pub kind: NotificationKind,
    /// Through which channel.
    pub channel: Channel,
    /// For whom.
    pub recipient: Recipient,
    /// The conversation it is about.
    pub conversation_id: ConversationId,
    /// Jobs with the same key coalesce: while one is still scheduled (not
    /// yet claimed), storage keeps it and drops the new one.
    pub coalesce_key: String,
    /// Not before.
    pub due_at: DateTime<Utc>,
    /// When decided.
    pub created_at: DateTime<Utc>,
}

/// Scheduled jobs a write makes moot (the recipient saw the messages):
/// storage cancels every still-scheduled job of this kind about this
/// conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCancel {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The kind of job to cancel.
    pub kind: NotificationKind,
    /// Why, as recorded on the cancelled jobs.
    pub reason: SkipReason,
    /// When (the write's time).
    pub at: DateTime<Utc>,
}

/// What a write adds to the notification queue, committed atomically with
/// its events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outbox {
    /// Jobs to enqueue (unless one with the same coalesce key is still
    /// scheduled).
    pub enqueue: Vec<NewJob>,
    /// Scheduled jobs to cancel. Applied before `enqueue`.
    pub cancel: Vec<PendingCancel>,
}

impl Outbox {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.enqueue.is_empty() && self.cancel.is_empty()
    }

    /// Whether a job it enqueues is due at once (a worker should be woken
    /// rather than left to its next poll).
    pub fn has_due_jobs(&self) -> bool {
        self.enqueue.iter().any(|job| job.due_at <= job.created_at)
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its due time; still absorbs new jobs with its key.
    Scheduled,
    /// Claimed by a worker until its lease ends.
    Running,
    /// Failed, waiting for its next attempt.
    Retrying,
    /// Delivered.
    Done,
    /// Not needed any more (seen in time, switched off, no address).
    Cancelled,
    /// Failed for good: a permanent failure, or out of attempts.
    Dead,
}

impl JobState {
    /// Every state.
    pub const ALL: [Self; 6] = [
        Self::Scheduled,
        Self::Running,
        Self::Retrying,
        Self::Done,
        Self::Cancelled,
        Self::Dead,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Dead => "dead",
        }
    }

    /// The state a stored name names.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Still to be delivered (scheduled, running or retrying).
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Scheduled | Self::Running | Self::Retrying)
    }
}

/// A job as storage keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Id and delivery id.
    pub id: JobId,
    /// What about.
    pub kind: NotificationKind,
    /// Through which channel.
    pub channel: Channel,
    /// For whom.
    pub recipient: Recipient,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Where it is.
    pub state: JobState,
    /// Attempts started so far.
    pub attempts: u32,
    /// Not before (the next attempt's time, for a retrying job).
    pub due_at: DateTime<Utc>,
    /// The lease of a running job.
    pub lease_until: Option<DateTime<Utc>>,
    /// Why the last attempt failed, or why the job was cancelled.
    pub last_error: Option<String>,
    /// When decided.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A job a worker holds until `lease_until`. Reporting the outcome needs
/// the lease token: after the lease ran out and another worker claimed the
/// job, the first worker's report changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The job, with `attempts` counting this one.
    pub job: Job,
    /// Proof of the claim.
    pub lease_token: uuid::Uuid,
}

/// Which jobs to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobQuery {
    /// Only these states (all when empty).
    pub states: Vec<JobState>,
    /// At most this many, newest first: 1 to [`JobQuery::MAX_LIMIT`] when
    /// listed through `Support::notification_jobs`.
    pub limit: u32,
}

impl JobQuery {
    /// The default page size.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The largest page `Support::notification_jobs` accepts.
    pub const MAX_LIMIT: u32 = 200;
}

impl Default for JobQuery {
    /// Every state, the default page size.
    fn default() -> Self {
        Self {
            states: Vec::new(),
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

/// How a claimed job ended, as a worker reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// Delivered.
    Done,
    /// Failed; try again at `at`.
    Retry {
        /// The next attempt's time.
        at: DateTime<Utc>,
        /// What went wrong (for admins; no secrets).
        error: String,
    },
    /// Not needed any more.
    Cancelled {
        /// Why.
        reason: SkipReason,
    },
    /// Failed for good.
    Dead {
        /// What went wrong.
        error: String,
    },
}
