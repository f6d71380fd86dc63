//! The JSON shapes of the HTTP contract, with their OpenAPI schemas. Domain
//! types stay free of HTTP concerns; they are converted here, once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use support_core::{
    Analytics, Conversation, ConversationStatus, ConversationView, DurationStats, EventPayload,
    MessageView, Page, Role, SeenMark,
};
use utoipa::ToSchema;
use uuid::Uuid;

/// Open or closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusBody {
    /// Takes new messages.
    Open,
    /// Resolved.
    Closed,
}

impl From<ConversationStatus> for StatusBody {
    fn from(status: ConversationStatus) -> Self {
        match status {
            ConversationStatus::Open => Self::Open,
            ConversationStatus::Closed => Self::Closed,
        }
    }
}

/// Who saw a message, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SeenReceiptBody {
    /// The reader.
    pub user_id: String,
    /// When the reader first saw the message.
    pub seen_at: DateTime<Utc>,
}

/// A message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageBody {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// The author.
    pub user_id: String,
    /// The text, verbatim after trimming. Render it as text, never as HTML.
    pub content: String,
    /// Whether an admin wrote it.
    pub is_admin_message: bool,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Equal to `created_at` (messages are not edited).
    pub updated_at: DateTime<Utc>,
    /// The author's idempotency key, if one was given.
    pub client_id: Option<String>,
    /// Readers of the other side who saw it, earliest first.
    pub seen_by: Vec<SeenReceiptBody>,
    /// Position in the conversation, from 1 (extension).
    pub seq: i64,
}

impl From<MessageView> for MessageBody {
    fn from(view: MessageView) -> Self {
        let m = view.message;
        Self {
            id: m.id.as_uuid(),
            conversation_id: m.conversation_id.as_uuid(),
            user_id: m.user_id.to_string(),
            content: m.content.into_string(),
            is_admin_message: m.is_admin_message,
            created_at: m.created_at,
            updated_at: m.updated_at,
            client_id: m.client_id.map(String::from),
            seen_by: view
                .seen_by
                .into_iter()
                .map(|r| SeenReceiptBody {
                    user_id: r.user_id.to_string(),
                    seen_at: r.seen_at,
                })
                .collect(),
            seq: m.seq,
        }
    }
}

/// A conversation as the caller sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationBody {
    /// Id.
    pub id: Uuid,
    /// The user it belongs to.
    pub user_id: String,
    /// Open or closed.
    pub status: StatusBody,
    /// When its first message created it.
    pub created_at: DateTime<Utc>,
    /// Last change of any kind.
    pub updated_at: DateTime<Utc>,
    /// When its newest message was written.
    pub last_message_at: DateTime<Utc>,
    /// Its newest message.
    pub last_message: Option<MessageBody>,
    /// Messages from the other side that the caller has not seen (exact).
    pub unread_count: i64,
    /// Open, and the user spoke last.
    pub awaiting_reply: bool,
    /// When it was last closed (extension).
    pub closed_at: Option<DateTime<Utc>>,
    /// Number of messages (extension).
    pub message_count: i64,
    /// The user's display name, as the host last gave it (the token's
    /// `name` claim when they wrote), or `null` (extension). Text, not
    /// markup.
    pub user_name: Option<String>,
}

impl From<ConversationView> for ConversationBody {
    fn from(view: ConversationView) -> Self {
        let c = view.conversation;
        Self {
            id: c.id.as_uuid(),
            user_id: c.user_id.to_string(),
            status: c.status.into(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_message_at: c.last_message_at,
            last_message: view.last_message.map(MessageBody::from),
            unread_count: view.unread_count,
            awaiting_reply: view.awaiting_reply,
            closed_at: c.closed_at,
            message_count: c.message_count,
            user_name: view.user_name,
        }
    }
}

/// The reply to `POST /messages`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SentBody {
    /// The conversation the message went to.
    pub conversation: ConversationBody,
    /// The message.
    pub message: MessageBody,
}

/// A page of conversations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationPageBody {
    /// Most recent activity first.
    pub items: Vec<ConversationBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// The event-log position this page reflects (extension): every event
    /// up to it is included, later ones may be too. Open `GET /events`
    /// with `last_event_id` set to it (or send it as `Last-Event-ID`) to
    /// follow on from this page without missing anything committed since;
    /// events the page already shows may arrive again and are applied
    /// idempotently.
    pub last_event_id: i64,
}

impl From<Page<ConversationView>> for ConversationPageBody {
    fn from(page: Page<ConversationView>) -> Self {
        Self {
            items: page.items.into_iter().map(ConversationBody::from).collect(),
            next_cursor: page.next_cursor,
            last_event_id: page.position.0,
        }
    }
}

/// A page of messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessagePageBody {
    /// Oldest first.
    pub items: Vec<MessageBody>,
    /// More exist beyond this page in the direction asked.
    pub has_more: bool,
    /// The event-log position this page reflects (extension): every event
    /// up to it is included, later ones may be too. Open `GET /events`
    /// with `last_event_id` set to it (or send it as `Last-Event-ID`) to
    /// follow on from this page without missing anything committed since;
    /// events the page already shows may arrive again and are applied
    /// idempotently.
    pub last_event_id: i64,
}

/// A message to write.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessageBody {
    /// 1 to 10,000 characters after trimming; no NUL or control characters
    /// other than newline and tab.
    pub content: String,
    /// Optional idempotency key: 1 to 64 printable ASCII characters. The
    /// same key from the same author returns the original message.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// Marks messages seen.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeenBody {
    /// Every message of the other side up to and including this one.
    pub up_to: Uuid,
}

/// Duration statistics in seconds (`null` without data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DurationStatsBody {
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Middle value (mean of the two middle values for an even count).
    pub median: Option<f64>,
    /// Nearest-rank 90th percentile.
    pub p90: Option<f64>,
    /// How many durations (extension).
    pub count: usize,
}

impl From<DurationStats> for DurationStatsBody {
    fn from(stats: DurationStats) -> Self {
        Self {
            mean: stats.mean,
            median: stats.median,
            p90: stats.p90,
            count: stats.count,
        }
    }
}

/// Support analytics over `[from, to)`. Definitions: conversations created
/// in range; close actions in range (a conversation closed twice counts
/// twice); messages written in range by users and by admins; open and
/// awaiting-reply conversations now; first response = first admin message
/// minus creation, for conversations created in range and answered;
/// resolution = close time minus creation, per close action in range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnalyticsBody {
    /// Start of the range (inclusive).
    pub from: DateTime<Utc>,
    /// End of the range (exclusive).
    pub to: DateTime<Utc>,
    /// Conversations created in range.
    pub conversations_created: i64,
    /// Close actions in range.
    pub conversations_closed: i64,
    /// Messages written by users in range.
    pub messages_from_users: i64,
    /// Messages written by admins in range.
    pub messages_from_admins: i64,
    /// Open conversations now.
    pub open_now: i64,
    /// Open conversations whose last message is the user's, now.
    pub awaiting_reply_now: i64,
    /// First admin reply minus creation.
    pub first_response_seconds: DurationStatsBody,
    /// Close minus creation, per close.
    pub resolution_seconds: DurationStatsBody,
}

impl From<Analytics> for AnalyticsBody {
    fn from(a: Analytics) -> Self {
        Self {
            from: a.from,
            to: a.to,
            conversations_created: a.conversations_created,
            conversations_closed: a.conversations_closed,
            messages_from_users: a.messages_from_users,
            messages_from_admins: a.messages_from_admins,
            open_now: a.open_now,
            awaiting_reply_now: a.awaiting_reply_now,
            first_response_seconds: a.first_response_seconds.into(),
            resolution_seconds: a.resolution_seconds.into(),
        }
    }
}

/// `data` of `conversation.created` and `conversation.updated` events: the
/// conversation without viewer-specific fields (`unread_count` depends on
/// who reads; clients count `message.created` and `message.seen` events,
/// or fetch the conversation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationEventBody {
    /// Id.
    pub id: Uuid,
    /// The user it belongs to.
    pub user_id: String,
    /// Open or closed.
    pub status: StatusBody,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Newest message time.
    pub last_message_at: DateTime<Utc>,
    /// Last close time.
    pub closed_at: Option<DateTime<Utc>>,
    /// Open, and the user spoke last.
    pub awaiting_reply: bool,
    /// Number of messages.
    pub message_count: i64,
}

impl From<Conversation> for ConversationEventBody {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id.as_uuid(),
            user_id: c.user_id.to_string(),
            status: c.status.into(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_message_at: c.last_message_at,
            closed_at: c.closed_at,
            awaiting_reply: c.awaiting_reply(),
            message_count: c.message_count,
        }
    }
}

/// `data` of `message.seen` events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SeenEventBody {
    /// The conversation.
    pub conversation_id: Uuid,
    /// The reader.
    pub user_id: String,
    /// Whether the reader is an admin (then user messages were seen).
    pub is_admin: bool,
    /// Every message of the other side up to this one is seen.
    pub up_to: Uuid,
    /// When.
    pub seen_at: DateTime<Utc>,
}

impl From<SeenMark> for SeenEventBody {
    fn from(mark: SeenMark) -> Self {
        Self {
            conversation_id: mark.conversation_id.as_uuid(),
            user_id: mark.reader_id.to_string(),
            is_admin: mark.reader_role == Role::Admin,
            up_to: mark.up_to.as_uuid(),
            seen_at: mark.seen_at,
        }
    }
}

/// The caller, as `GET /me` reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeBody {
    /// The host's id for the caller.
    pub user_id: String,
    /// `user` or `admin`.
    pub role: String,
    /// Display name, when the host gave one.
    pub name: Option<String>,
}

/// `data` of the `reset` event (the missed events are gone: reload state,
/// then continue from `latest`, also the event's id) and of the `ready`
/// event (a fresh stream starts after `latest`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResetEventBody {
    /// The newest event position.
    pub latest: i64,
}

/// The JSON `data` of an event.
pub(crate) fn event_data(payload: EventPayload) -> serde_json::Result<String> {
    match payload {
        EventPayload::ConversationCreated(c) | EventPayload::ConversationUpdated(c) => {
            serde_json::to_string(&ConversationEventBody::from(c))
        }
        EventPayload::MessageCreated(message) => {
            serde_json::to_string(&MessageBody::from(MessageView {
                message,
                seen_by: Vec::new(),
            }))
        }
        EventPayload::MessagesSeen(mark) => serde_json::to_string(&SeenEventBody::from(mark)),
    }
}

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKindBody {
    /// An admin answered the user (sent to the user).
    AdminReply,
    /// A user wrote (sent to the team).
    UserMessage,
}

impl From<support_core::NotificationKind> for NotificationKindBody {
    fn from(kind: support_core::NotificationKind) -> Self {
        match kind {
            support_core::NotificationKind::AdminReply => Self::AdminReply,
            support_core::NotificationKind::UserMessage => Self::UserMessage,
        }
    }
}

impl From<NotificationKindBody> for support_core::NotificationKind {
    fn from(kind: NotificationKindBody) -> Self {
        match kind {
            NotificationKindBody::AdminReply => Self::AdminReply,
            NotificationKindBody::UserMessage => Self::UserMessage,
        }
    }
}

/// A notification channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelBody {
    /// Email.
    Email,
    /// Text message.
    Sms,
    /// Signed HTTP call (team alerts).
    Webhook,
}

impl From<support_core::Channel> for ChannelBody {
    fn from(channel: support_core::Channel) -> Self {
        match channel {
            support_core::Channel::Email => Self::Email,
            support_core::Channel::Sms => Self::Sms,
            support_core::Channel::Webhook => Self::Webhook,
        }
    }
}

impl From<ChannelBody> for support_core::Channel {
    fn from(channel: ChannelBody) -> Self {
        match channel {
            ChannelBody::Email => Self::Email,
            ChannelBody::Sms => Self::Sms,
            ChannelBody::Webhook => Self::Webhook,
        }
    }
}

/// One switch: a kind of notification on a channel, on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferenceBody {
    /// What about.
    pub kind: NotificationKindBody,
    /// Through which channel.
    pub channel: ChannelBody,
    /// On or off.
    pub enabled: bool,
}

impl From<support_core::Preference> for PreferenceBody {
    fn from(p: support_core::Preference) -> Self {
        Self {
            kind: p.kind.into(),
            channel: p.channel.into(),
            enabled: p.enabled,
        }
    }
}

impl From<PreferenceBody> for support_core::Preference {
    fn from(p: PreferenceBody) -> Self {
        Self {
            kind: p.kind.into(),
            channel: p.channel.into(),
            enabled: p.enabled,
        }
    }
}

/// The caller's notification switches (every kind × channel on `GET`; the
/// ones to change on `PUT`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// The switches.
    pub preferences: Vec<PreferenceBody>,
}

/// A notification job, as admins see it (no contact details).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobBody {
    /// Id; also the delivery id receivers see.
    pub id: Uuid,
    /// What about.
    pub kind: NotificationKindBody,
    /// Through which channel.
    pub channel: ChannelBody,
    /// The recipient's user id; `null` for the team.
    pub recipient: Option<String>,
    /// The conversation.
    pub conversation_id: Uuid,
    /// `scheduled`, `running`, `retrying`, `done`, `cancelled` or `dead`.
    pub state: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Not before (the next attempt, when retrying).
    pub due_at: DateTime<Utc>,
    /// Why the last attempt failed, or why it was cancelled.
    pub last_error: Option<String>,
    /// When decided.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<support_core::Job> for JobBody {
    fn from(job: support_core::Job) -> Self {
        Self {
            id: job.id.as_uuid(),
            kind: job.kind.into(),
            channel: job.channel.into(),
            recipient: job.recipient.user().map(ToString::to_string),
            conversation_id: job.conversation_id.as_uuid(),
            state: job.state.as_str().to_owned(),
            attempts: job.attempts,
            due_at: job.due_at,
            last_error: job.last_error,
            created_at: job.created_at,
            updated_at: job.updated_at,
        }
    }
}

/// A page of notification jobs, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobsBody {
    /// The jobs.
    pub items: Vec<JobBody>,
}

/// A role as the contract spells it.
pub(crate) fn role_name(role: support_core::Role) -> &'static str {
    match role {
        support_core::Role::User => "user",
        support_core::Role::Admin => "admin",
    }
}

mod presence;
pub use presence::{AdminPresenceBody, PresenceBody, TypingEventBody, ViewingBody};
