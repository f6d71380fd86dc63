//! The storage port. Storage offers transactional primitives and enforces
//! the invariants a database can (one open conversation per user, unique
//! `(author, client_id)`, a gap-free event order); [`crate::Support`]
//! decides everything else.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

use crate::analytics::{AnalyticsInputs, AnalyticsRange};
use crate::conversation::Conversation;
use crate::error::StorageError;
use crate::events::{Event, NewEvent};
use crate::ids::{ConversationId, EventSeq, MessageId, UserId};
use crate::inbox::{InboxQuery, InboxRow};
use crate::message::Message;
use crate::notification::{ClaimedJob, Contact, Job, JobOutcome, JobQuery, Outbox, Preference};
use crate::seen::SeenMark;
use crate::validation::ClientId;

/// Result of a storage call.
pub type StorageResult<T> = Result<T, StorageError>;

/// Which messages of a conversation to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageRange {
    /// The newest `limit`, newest first.
    Latest {
        /// How many.
        limit: u32,
    },
    /// The `limit` just before position `seq`, newest first.
    Before {
        /// Exclusive bound.
        seq: i64,
        /// How many.
        limit: u32,
    },
    /// The `limit` just after position `seq`, oldest first.
    After {
        /// Exclusive bound.
        seq: i64,
        /// How many.
        limit: u32,
    },
}

/// A close action, kept for analytics (resolution time per close).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closure {
    /// The conversation closed.
    pub conversation_id: ConversationId,
    /// The admin who closed it.
    pub closed_by: UserId,
    /// When.
    pub closed_at: DateTime<Utc>,
}

/// A slice of the event log with the bounds needed to detect a gap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLogSlice {
    /// Events after the requested position, oldest first.
    pub events: Vec<Event>,
    /// The position of the last row read, whether or not it could be
    /// decoded: storage skips (and logs) an event it cannot decode, such
    /// as one of a kind a newer version wrote, and readers continue after
    /// it. `None` when nothing was read.
    pub read_through: Option<EventSeq>,
    /// The oldest position still in the log (`None` when the log is empty).
    pub oldest: Option<EventSeq>,
    /// The newest position ever written (0 when the log is empty).
    pub latest: EventSeq,
}

/// A wake-up from storage: the event log may have grown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogSignal {
    /// A commit appended events up to this position.
    Reached(EventSeq),
    /// Something may have been committed that no [`Self::Reached`] told
    /// of (a lost notification, a reconnect, the periodic check): read the
    /// log to find out.
    Check,
}

/// Wake-ups for readers of the event log (see [`Storage::log_signal`]).
pub type LogWakeups = BoxStream<'static, LogSignal>;

/// Wake-ups for notification workers (see [`Storage::job_signal`]).
pub type JobWakeups = BoxStream<'static, ()>;

/// Durable storage. Held as `Arc<dyn Storage>`.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Starts a write transaction. Dropping it without
    /// [`WriteTx::commit`] rolls it back.
    async fn begin(&self) -> StorageResult<Box<dyn WriteTx>>;

    /// One conversation with its newest message and `viewer`'s newest seen
    /// mark.
    async fn conversation(
        &self,
        id: ConversationId,
        viewer: &UserId,
    ) -> StorageResult<Option<InboxRow>>;

    /// A page of conversations, most recent activity first, at most
    /// `query.fetch` rows, in one indexed query.
    async fn conversations(&self, query: &InboxQuery) -> StorageResult<Vec<InboxRow>>;

    /// One message of a conversation.
    async fn message(
        &self,
        conversation: ConversationId,
        id: MessageId,
    ) -> StorageResult<Option<Message>>;

    /// Messages of a conversation in the order [`MessageRange`] describes.
    async fn messages(
        &self,
        conversation: ConversationId,
        range: MessageRange,
    ) -> StorageResult<Vec<Message>>;

    /// The conversation's seen marks with `up_to_seq >= from_seq`.
    async fn seen_marks(
        &self,
        conversation: ConversationId,
        from_seq: i64,
    ) -> StorageResult<Vec<SeenMark>>;

    /// For each given conversation, the seen marks that cover its newest
    /// message (`up_to_seq` equal to its `message_count`). One query.
    async fn last_message_marks(
        &self,
        conversations: &[ConversationId],
    ) -> StorageResult<Vec<SeenMark>>;

    /// Up to `limit` events after position `after`, oldest first.
    async fn events_after(&self, after: EventSeq, limit: u32) -> StorageResult<EventLogSlice>;

    /// Wake-ups for a reader that tails the event log, on every process
    /// that shares the database: soon after each commit that appended
    /// events, whichever process committed it, and a
    /// [`LogSignal::Check`] at least every few seconds, so that a lost
    /// wake-up delays an event but never loses it. Wake-ups are hints
    /// that may coalesce; the log is the truth. Each call is a new
    /// subscriber.
    fn log_signal(&self) -> LogWakeups;

    /// Wake-ups for notification workers, on every process that shares the
    /// database: soon after each commit that enqueued a job due at once
    /// ([`Outbox::has_due_jobs`]). Jobs due later are found by the
    /// worker's poll. Each call is a new subscriber.
    fn job_signal(&self) -> JobWakeups;

    /// The bus that carries typing and presence to every process sharing
    /// this storage, when it has one (PostgreSQL: `NOTIFY`). `None` (the
    /// default): such signals stay within the process, which is right for
    /// a storage only one process uses.
    fn ephemeral_bus(&self) -> Option<std::sync::Arc<dyn crate::EphemeralBus>> {
        None
    }

    /// Deletes events older than `before`, always keeping the newest one so
    /// the log's position survives. Returns how many were deleted.
    async fn prune_events(&self, before: DateTime<Utc>) -> StorageResult<u64>;

    /// Raw analytics figures for `range` (see [`crate::analytics`]).
    async fn analytics(&self, range: &AnalyticsRange) -> StorageResult<AnalyticsInputs>;

    /// Claims up to `limit` jobs that are due at `now` (scheduled or
    /// retrying with `due_at <= now`, or running with an expired lease),
    /// oldest due first, counts an attempt for each and leases them until
    /// `lease_until`. Concurrent claimers never get the same job while its
    /// lease runs.
    async fn claim_jobs(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StorageResult<Vec<ClaimedJob>>;

    /// Records how a claimed job ended. `false` when the claim was lost
    /// (the lease ran out and another worker claimed the job): nothing
    /// changes then.
    async fn finish_job(
        &self,
        claim: &ClaimedJob,
        outcome: &JobOutcome,
        now: DateTime<Utc>,
    ) -> StorageResult<bool>;

    /// Jobs, newest first.
    async fn jobs(&self, query: &JobQuery) -> StorageResult<Vec<Job>>;

    /// The switches `user` stored (absent ones are on).
    async fn preferences(&self, user: &UserId) -> StorageResult<Vec<Preference>>;

    /// Stores switches of `user`, replacing those with the same kind and
    /// channel.
    async fn set_preferences(
        &self,
        user: &UserId,
        preferences: &[Preference],
        now: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// The contact details last recorded for `user`.
    async fn contact(&self, user: &UserId) -> StorageResult<Option<Contact>>;

    /// Records `user`'s contact details (as vouched for by the host).
    async fn save_contact(
        &self,
        user: &UserId,
        contact: &Contact,
        now: DateTime<Utc>,
    ) -> StorageResult<()>;
}

/// One write transaction. Rows read through it are locked against
/// concurrent writers until commit or rollback.
///
/// A transaction that succeeds is always committed, even when it wrote
/// nothing: storage may run several writers in one batch transaction (group
/// commit), and `commit` is how a reader of that batch learns that what it
/// read is durable. Dropping a transaction rolls it back.
#[async_trait]
pub trait WriteTx: Send {
    /// The user's open conversation, locked.
    async fn open_conversation_of(&mut self, user: &UserId) -> StorageResult<Option<Conversation>>;

    /// The user's most recently created conversation, locked.
    async fn latest_conversation_of(
        &mut self,
        user: &UserId,
    ) -> StorageResult<Option<Conversation>>;

    /// A conversation by id, locked.
    async fn conversation(&mut self, id: ConversationId) -> StorageResult<Option<Conversation>>;

    /// Inserts a conversation. A second open conversation for the same user
    /// fails with [`crate::WriteConflict::OpenConversationExists`].
    async fn insert_conversation(&mut self, conversation: &Conversation) -> StorageResult<()>;

    /// Writes every field of an existing conversation. Opening a second
    /// conversation of a user fails like [`Self::insert_conversation`].
    async fn update_conversation(&mut self, conversation: &Conversation) -> StorageResult<()>;

    /// Records a close action.
    async fn insert_closure(&mut self, closure: &Closure) -> StorageResult<()>;

    /// One message of a conversation.
    async fn message(
        &mut self,
        conversation: ConversationId,
        id: MessageId,
    ) -> StorageResult<Option<Message>>;

    /// The author's message with this client id, if any.
    async fn message_by_client_id(
        &mut self,
        author: &UserId,
        client_id: &ClientId,
    ) -> StorageResult<Option<Message>>;

    /// Inserts a message. A repeated `(author, client_id)` fails with
    /// [`crate::WriteConflict::DuplicateClientId`].
    async fn insert_message(&mut self, message: &Message) -> StorageResult<()>;

    /// The reader's newest seen mark in the conversation.
    async fn newest_seen_mark(
        &mut self,
        conversation: ConversationId,
        reader: &UserId,
    ) -> StorageResult<Option<SeenMark>>;

    /// Messages at or before position `up_to_seq` written by admins (or by
    /// the user, when `from_admins` is false).
    async fn count_messages(
        &mut self,
        conversation: ConversationId,
        from_admins: bool,
        up_to_seq: i64,
    ) -> StorageResult<i64>;

    /// Records a forward move of a seen cursor.
    async fn insert_seen_mark(&mut self, mark: &SeenMark) -> StorageResult<()>;

    /// Commits, with `events` for the log, atomically. Events get strictly
    /// increasing positions, so a reader that saw position N has seen
    /// every event before N, and a write's events keep their order (and
    /// come after those of every earlier write to the same rows). When it
    /// returns, they are in the log (PostgreSQL numbers them just after
    /// commit and waits for that, see `support-sqlx`).
    async fn commit(self: Box<Self>, events: Vec<NewEvent>) -> StorageResult<()>;

    /// Like [`Self::commit`], and in the same transaction applies the
    /// write's notification [`Outbox`]: first cancels the scheduled jobs it
    /// names, then enqueues its jobs, except those whose coalesce key a
    /// still-scheduled job holds (that job stands for them). A committed
    /// write always has its jobs; a rolled-back one never does.
    async fn commit_with_outbox(
        self: Box<Self>,
        events: Vec<NewEvent>,
        outbox: Outbox,
    ) -> StorageResult<()>;
}
