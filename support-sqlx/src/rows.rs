//! Row shapes shared by both dialects, and their conversion to domain types.

use chrono::{DateTime, Utc};
use support_core::{
    ClientId, Conversation, ConversationId, ConversationStatus, Event, EventPayload, EventSeq,
    InboxRow, Message, MessageContent, MessageId, Role, SeenMark, StorageError, UserId,
};
use uuid::Uuid;

/// Converts a stored microsecond timestamp.
pub(crate) fn time(micros: i64) -> Result<DateTime<Utc>, StorageError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| corrupt(format!("timestamp {micros} out of range")))
}

/// The stored form of a timestamp.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn user_id(raw: String) -> Result<UserId, StorageError> {
    UserId::parse(raw).map_err(|e| StorageError::Backend(Box::new(e)))
}

/// A stored value that no write path of ours produces.
pub(crate) fn corrupt(what: String) -> StorageError {
    StorageError::Backend(what.into())
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRecord {
    id: Uuid,
    user_id: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    last_message_at: i64,
    closed_at: Option<i64>,
    message_count: i64,
    user_message_count: i64,
    admin_message_count: i64,
    last_message_from_admin: bool,
    first_admin_reply_at: Option<i64>,
}

impl TryFrom<ConversationRecord> for Conversation {
    type Error = StorageError;
    fn try_from(row: ConversationRecord) -> Result<Self, StorageError> {
        Ok(Self {
            id: ConversationId::from_uuid(row.id),
            user_id: user_id(row.user_id)?,
            status: ConversationStatus::parse(&row.status)
                .ok_or_else(|| corrupt(format!("unknown status {:?}", row.status)))?,
            created_at: time(row.created_at)?,
            updated_at: time(row.updated_at)?,
            last_message_at: time(row.last_message_at)?,
            closed_at: row.closed_at.map(time).transpose()?,
            message_count: row.message_count,
            user_message_count: row.user_message_count,
            admin_message_count: row.admin_message_count,
            last_message_from_admin: row.last_message_from_admin,
            first_admin_reply_at: row.first_admin_reply_at.map(time).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRecord {
    id: Uuid,
    conversation_id: Uuid,
    seq: i64,
    user_id: String,
    content: String,
    is_admin_message: bool,
    client_id: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<MessageRecord> for Message {
    type Error = StorageError;
    fn try_from(row: MessageRecord) -> Result<Self, StorageError> {
        Ok(Self {
            id: MessageId::from_uuid(row.id),
            conversation_id: ConversationId::from_uuid(row.conversation_id),
            seq: row.seq,
            user_id: user_id(row.user_id)?,
            content: MessageContent::from_stored(row.content),
            is_admin_message: row.is_admin_message,
            client_id: row
                .client_id
                .map(ClientId::parse)
                .transpose()
                .map_err(|e| StorageError::Backend(Box::new(e)))?,
            created_at: time(row.created_at)?,
            updated_at: time(row.updated_at)?,
        })
    }
}

/// A conversation joined with its newest message (columns `m_*`, absent
/// when it has none) and the viewer's newest seen count.
#[derive(sqlx::FromRow)]
pub(crate) struct InboxRecord {
    #[sqlx(flatten)]
    conversation: ConversationRecord,
    m_id: Option<Uuid>,
    m_seq: Option<i64>,
    m_user_id: Option<String>,
    m_content: Option<String>,
    m_is_admin_message: Option<bool>,
    m_client_id: Option<String>,
    m_created_at: Option<i64>,
    m_updated_at: Option<i64>,
    user_name: Option<String>,
    viewer_seen_count: Option<i64>,
}

impl TryFrom<InboxRecord> for InboxRow {
    type Error = StorageError;
    fn try_from(row: InboxRecord) -> Result<Self, StorageError> {
        let conversation = Conversation::try_from(row.conversation)?;
        let last_message = match (
            row.m_id,
            row.m_seq,
            row.m_user_id,
            row.m_content,
            row.m_is_admin_message,
            row.m_created_at,
            row.m_updated_at,
        ) {
            (
                Some(id),
                Some(seq),
                Some(user_id),
                Some(content),
                Some(is_admin_message),
                Some(created_at),
                Some(updated_at),
            ) => Some(Message::try_from(MessageRecord {
                id,
                conversation_id: conversation.id.as_uuid(),
                seq,
                user_id,
                content,
                is_admin_message,
                client_id: row.m_client_id,
                created_at,
                updated_at,
            })?),
            _ => None,
        };
        Ok(Self {
            conversation,
            last_message,
            viewer_seen_count: row.viewer_seen_count,
            user_name: row.user_name,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SeenMarkRecord {
    conversation_id: Uuid,
    reader_id: String,
    reader_role: String,
    up_to: Uuid,
    up_to_seq: i64,
    seen_count: i64,
    seen_at: i64,
}

pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Admin => "admin",
    }
}

impl TryFrom<SeenMarkRecord> for SeenMark {
    type Error = StorageError;
    fn try_from(row: SeenMarkRecord) -> Result<Self, StorageError> {
        Ok(Self {
            conversation_id: ConversationId::from_uuid(row.conversation_id),
            reader_id: user_id(row.reader_id)?,
            reader_role: match row.reader_role.as_str() {
                "user" => Role::User,
                "admin" => Role::Admin,
                other => return Err(corrupt(format!("unknown role {other:?}"))),
            },
            up_to: MessageId::from_uuid(row.up_to),
            up_to_seq: row.up_to_seq,
            seen_count: row.seen_count,
            seen_at: time(row.seen_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRecord {
    pub(crate) seq: i64,
    conversation_owner: String,
    payload: String,
    created_at: i64,
}

impl TryFrom<EventRecord> for Event {
    type Error = StorageError;
    fn try_from(row: EventRecord) -> Result<Self, StorageError> {
        let payload: EventPayload =
            serde_json::from_str(&row.payload).map_err(|e| StorageError::Backend(Box::new(e)))?;
        Ok(Self {
            seq: EventSeq(row.seq),
            conversation_owner: user_id(row.conversation_owner)?,
            at: time(row.created_at)?,
            payload,
        })
    }
}

/// The events of `rows`, without those that cannot be decoded (a kind a
/// newer version wrote, during a rolling upgrade): each is logged and
/// skipped, so one such row never stops every reader of the log.
pub(crate) fn decodable_events(rows: Vec<EventRecord>) -> Vec<Event> {
    rows.into_iter()
        .filter_map(|row| {
            let seq = row.seq;
            Event::try_from(row)
                .inspect_err(|error| {
                    tracing::error!(seq, %error, "event log: cannot decode an event; skipped");
                })
                .ok()
        })
        .collect()
}

/// The stored JSON of an event payload.
pub(crate) fn payload_json(payload: &EventPayload) -> Result<String, StorageError> {
    serde_json::to_string(payload).map_err(|e| StorageError::Backend(Box::new(e)))
}

#[derive(sqlx::FromRow)]
pub(crate) struct AnalyticsCounts {
    pub(crate) conversations_created: i64,
    pub(crate) conversations_closed: i64,
    pub(crate) messages_from_users: i64,
    pub(crate) messages_from_admins: i64,
    pub(crate) open_now: i64,
    pub(crate) awaiting_reply_now: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct LogBounds {
    pub(crate) oldest: Option<i64>,
    pub(crate) latest: Option<i64>,
}

/// Decoding the same rows from the SQLite writer connection (rusqlite).
#[cfg(feature = "sqlite")]
mod from_rusqlite {
    use rusqlite::Row;

    use super::{ConversationRecord, MessageRecord, SeenMarkRecord};

    impl ConversationRecord {
        pub(crate) fn from_rusqlite(row: &Row<'_>) -> rusqlite::Result<Self> {
            Ok(Self {
                id: row.get("id")?,
                user_id: row.get("user_id")?,
                status: row.get("status")?,
                created_at: row.get("created_at")?,
                updated_at: row.get("updated_at")?,
                last_message_at: row.get("last_message_at")?,
                closed_at: row.get("closed_at")?,
                message_count: row.get("message_count")?,
                user_message_count: row.get("user_message_count")?,
                admin_message_count: row.get("admin_message_count")?,
                last_message_from_admin: row.get("last_message_from_admin")?,
                first_admin_reply_at: row.get("first_admin_reply_at")?,
            })
        }
    }

    impl MessageRecord {
        pub(crate) fn from_rusqlite(row: &Row<'_>) -> rusqlite::Result<Self> {
            Ok(Self {
                id: row.get("id")?,
                conversation_id: row.get("conversation_id")?,
                seq: row.get("seq")?,
                user_id: row.get("user_id")?,
                content: row.get("content")?,
                is_admin_message: row.get("is_admin_message")?,
                client_id: row.get("client_id")?,
                created_at: row.get("created_at")?,
                updated_at: row.get("updated_at")?,
            })
        }
    }

    impl SeenMarkRecord {
        pub(crate) fn from_rusqlite(row: &Row<'_>) -> rusqlite::Result<Self> {
            Ok(Self {
                conversation_id: row.get("conversation_id")?,
                reader_id: row.get("reader_id")?,
                reader_role: row.get("reader_role")?,
                up_to: row.get("up_to")?,
                up_to_seq: row.get("up_to_seq")?,
                seen_count: row.get("seen_count")?,
                seen_at: row.get("seen_at")?,
            })
        }
    }
}
