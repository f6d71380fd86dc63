//! # support-core
//!
//! The domain rules of an embeddable support inbox, free of I/O: a user
//! writes, an admin answers, both see it live, nobody misses a reply.
//!
//! - A user's first message creates their conversation; a user has at most
//!   one open conversation.
//! - Users see only their own conversations; admins see all. What a caller
//!   may not see is *not found*, never *forbidden*.
//! - Admins close and reopen; an admin reply reopens a closed conversation.
//! - Per-reader seen cursors give exact unread counts and per-message
//!   receipts; `awaiting_reply` is the team-level "needs an answer" flag.
//! - Sends are idempotent per `(author, client_id)`.
//! - Every change appends domain events to a log in the same transaction.
//!
//! Storage and notification are ports: [`Storage`] (implemented for SQLite
//! and PostgreSQL by `support-sqlx`), [`Notifier`] (told about committed
//! events by a [`LogTail`], which follows the log on every process) and
//! [`Deliver`] (a notification channel; see [`notification`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use support_core::{NewMessage, Principal, Storage, Support, SupportError, UserId};
//!
//! async fn example(storage: Arc<dyn Storage>) -> Result<(), SupportError> {
//!     let support = Support::new(storage);
//!     let alice = Principal::user(UserId::parse("alice")?);
//!     let sent = support
//!         .send(&alice, NewMessage { content: "My invoice is wrong".into(), client_id: None })
//!         .await?;
//!
//!     let bob = Principal::admin(UserId::parse("bob")?);
//!     let id = sent.conversation.conversation.id;
//!     support
//!         .post(&bob, id, NewMessage { content: "Fixing it now.".into(), client_id: None })
//!         .await?;
//!     support.close(&bob, id).await?;
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]

pub mod analytics;
mod clock;
mod conversation;
pub mod ephemeral;
mod error;
mod events;
mod ids;
pub mod inbox;
mod message;
pub mod notification;
mod notify;
pub mod policy;
pub mod presence;
mod principal;
pub mod search;
pub mod seen;
mod storage;
mod support;
mod tail;
pub mod typing;
mod validation;

pub use analytics::{Analytics, AnalyticsInputs, AnalyticsRange, DurationStats};
pub use clock::{Clock, ManualClock, SystemClock};
pub use conversation::{Conversation, ConversationStatus, ConversationView};
pub use ephemeral::{Ephemeral, EphemeralBus, EphemeralSignals};
pub use error::{BoxError, InvalidInput, StorageError, SupportError, WriteConflict};
pub use events::{Event, EventPayload, EventReplay, NewEvent};
pub use ids::{ConversationId, EventSeq, JobId, MessageId, UserId};
pub use inbox::{InboxCursor, InboxQuery, InboxRequest, InboxRow, Page, StatusFilter};
pub use message::{Message, MessageView, SeenReceipt};
pub use notification::{
    Channel, ClaimedJob, Contact, Contacts, Deliver, DeliveryError, Job, JobOutcome, JobQuery,
    JobState, NewJob, Notification, NotificationKind, NotificationRules, Outbox, Preference,
    Prepared, RetryPolicy, SkipReason,
};
pub use notify::{Notifier, Notifiers};
pub use presence::{
    AdminActivity, AdminPresence, NodeId, NodePresence, PresenceConfig, PresenceStatus,
    TeamPresence, Viewing,
};
pub use principal::{Principal, Role};
pub use seen::SeenMark;
pub use storage::{
    Closure, EventLogSlice, JobWakeups, LogSignal, LogWakeups, MessageRange, Storage,
    StorageResult, WriteTx,
};
pub use support::{
    MessagePage, MessagesRequest, NewMessage, Posted, Sent, Support, SupportConfig,
    USUAL_RESPONSE_MIN_ANSWERED,
};
pub use tail::LogTail;
pub use typing::{Typing, TypingThrottle, TypingView};
pub use validation::{ClientId, ContentLimits, MessageContent};
