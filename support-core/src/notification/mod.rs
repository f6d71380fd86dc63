//! Notifications: who is told about what, when, and through which channel.
//!
//! Core decides, storage stores. A write decides the notification jobs it
//! causes (`rules`) and hands them to [`crate::WriteTx::commit_with_outbox`]
//! together with its events, so a committed reply always has its job and a
//! rolled-back one never does. Workers (outside core) claim due jobs from
//! storage with a lease, ask [`crate::Support::prepare_delivery`] what to
//! send (or why not to), hand it to a [`Deliver`] channel, and report the
//! outcome; [`RetryPolicy`] says when to try again.
//!
//! The rules:
//! - An admin replies: the conversation's user is notified after a grace
//!   period ([`NotificationRules::reply_grace`]) unless they saw the reply
//!   by then. Replies within the window share one job (one notification
//!   listing all of them); seeing them cancels it.
//! - A user opens a conversation or writes into one awaiting a reply: the
//!   team is alerted after [`NotificationRules::team_alert_window`], one
//!   alert per conversation per window; an admin answering or seeing the
//!   messages first cancels it.
//! - Nobody is notified about their own message: a reply goes to the
//!   conversation's user (never the admin who wrote it), an alert about a
//!   user's message to the team (never to that user).
//! - Per-user [`Preference`]s switch a kind on a channel off (everything is
//!   on by default). Contact details come from the host ([`Contacts`]).

mod channel;
mod contacts;
mod job;
pub(crate) mod preferences;
mod retry;
pub(crate) mod rules;

pub use channel::{
    Deliver, DeliveryError, Notification, NotificationMessage, Prepared, SkipReason,
};
pub use contacts::{Contact, Contacts, NoContacts, StoredContacts};
pub use job::{
    ClaimedJob, Job, JobId, JobOutcome, JobQuery, JobState, NewJob, Outbox, PendingCancel,
    Recipient,
};
pub use preferences::Preference;
pub use retry::{RetryPolicy, error_chain};
pub use rules::NotificationRules;

use serde::{Deserialize, Serialize};

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// An admin answered the user (sent to the user).
    AdminReply,
    /// A user opened a conversation or wrote into one awaiting a reply
    /// (sent to the team).
    UserMessage,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [Self; 2] = [Self::AdminReply, Self::UserMessage];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AdminReply => "admin_reply",
            Self::UserMessage => "user_message",
        }
    }

    /// The kind a stored name names.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// A way of reaching someone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email to the recipient's address.
    Email,
    /// A text message to the recipient's phone (typically through a
    /// webhook to an SMS gateway).
    Sms,
    /// A signed HTTP call to a host-configured URL (team alerts, chat).
    Webhook,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Self; 3] = [Self::Email, Self::Sms, Self::Webhook];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Webhook => "webhook",
        }
    }

    /// The channel a stored name names.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }
}
