//! SQL shared by both dialects. Placeholders are `$N`, which sqlx binds by
//! number on SQLite too (and so does the SQLite writer, see
//! `sqlite/statement.rs`); what differs per dialect lives in `sqlite/` and
//! `postgres/`.

macro_rules! conversation_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "user_id, ",
            $p,
            "status, ",
            $p,
            "created_at, ",
            $p,
            "updated_at, ",
            $p,
            "last_message_at, ",
            $p,
            "closed_at, ",
            $p,
            "message_count, ",
            $p,
            "user_message_count, ",
            $p,
            "admin_message_count, ",
            $p,
            "last_message_from_admin, ",
            $p,
            "first_admin_reply_at"
        )
    };
}

macro_rules! message_columns {
    () => {
        "id, conversation_id, seq, user_id, content, is_admin_message, client_id, created_at, \
         updated_at"
    };
}

macro_rules! seen_mark_columns {
    () => {
        "conversation_id, reader_id, reader_role, up_to, up_to_seq, seen_count, seen_at"
    };
}

pub(crate) use conversation_columns;

/// The head of every inbox query: conversation, newest message, the owner's
/// stored name, and the viewer's newest seen count (bound as the first
/// parameter).
pub(crate) const INBOX_SELECT: &str = concat!(
    "SELECT ",
    conversation_columns!("c."),
    ", m.id AS m_id, m.seq AS m_seq, m.user_id AS m_user_id, m.content AS m_content, ",
    "m.is_admin_message AS m_is_admin_message, m.client_id AS m_client_id, ",
    "m.created_at AS m_created_at, m.updated_at AS m_updated_at, ",
    "(SELECT ct.name FROM support_contacts ct WHERE ct.user_id = c.user_id) AS user_name, ",
    "(SELECT s.seen_count FROM support_seen_marks s ",
    "WHERE s.conversation_id = c.id AND s.reader_id = "
);

pub(crate) const INBOX_FROM: &str = concat!(
    " ORDER BY s.up_to_seq DESC LIMIT 1) AS viewer_seen_count ",
    "FROM support_conversations c ",
    "LEFT JOIN support_messages m ON m.conversation_id = c.id AND m.seq = c.message_count ",
    "WHERE 1 = 1"
);

pub(crate) const INBOX_ORDER: &str = " ORDER BY c.last_message_at DESC, c.id DESC LIMIT ";

pub(crate) const INBOX_ONE: &str = concat!(
    "SELECT ",
    conversation_columns!("c."),
    ", m.id AS m_id, m.seq AS m_seq, m.user_id AS m_user_id, m.content AS m_content, ",
    "m.is_admin_message AS m_is_admin_message, m.client_id AS m_client_id, ",
    "m.created_at AS m_created_at, m.updated_at AS m_updated_at, ",
    "(SELECT ct.name FROM support_contacts ct WHERE ct.user_id = c.user_id) AS user_name, ",
    "(SELECT s.seen_count FROM support_seen_marks s ",
    "WHERE s.conversation_id = c.id AND s.reader_id = $2 ",
    "ORDER BY s.up_to_seq DESC LIMIT 1) AS viewer_seen_count ",
    "FROM support_conversations c ",
    "LEFT JOIN support_messages m ON m.conversation_id = c.id AND m.seq = c.message_count ",
    "WHERE c.id = $1"
);

pub(crate) const INSERT_CONVERSATION: &str = concat!(
    "INSERT INTO support_conversations (",
    conversation_columns!(""),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);

pub(crate) const UPDATE_CONVERSATION: &str = "UPDATE support_conversations SET \
     status = $2, updated_at = $3, last_message_at = $4, closed_at = $5, message_count = $6, \
     user_message_count = $7, admin_message_count = $8, last_message_from_admin = $9, \
     first_admin_reply_at = $10 WHERE id = $1";

pub(crate) const INSERT_CLOSURE: &str = "INSERT INTO support_closures \
     (conversation_id, closed_by, closed_at) VALUES ($1, $2, $3)";

pub(crate) const MESSAGE_BY_ID: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM support_messages WHERE conversation_id = $1 AND id = $2"
);

pub(crate) const MESSAGE_BY_CLIENT_ID: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM support_messages WHERE user_id = $1 AND client_id = $2"
);

pub(crate) const INSERT_MESSAGE: &str = concat!(
    "INSERT INTO support_messages (",
    message_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
);

pub(crate) const MESSAGES_LATEST: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM support_messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2"
);

pub(crate) const MESSAGES_BEFORE: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM support_messages WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
);

pub(crate) const MESSAGES_AFTER: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM support_messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3"
);

pub(crate) const COUNT_MESSAGES: &str = "SELECT COUNT(*) FROM support_messages \
     WHERE conversation_id = $1 AND is_admin_message = $2 AND seq <= $3";

pub(crate) const NEWEST_SEEN_MARK: &str = concat!(
    "SELECT ",
    seen_mark_columns!(),
    " FROM support_seen_marks WHERE conversation_id = $1 AND reader_id = $2 ",
    "ORDER BY up_to_seq DESC LIMIT 1"
);

pub(crate) const SEEN_MARKS_FROM: &str = concat!(
    "SELECT ",
    seen_mark_columns!(),
    " FROM support_seen_marks WHERE conversation_id = $1 AND up_to_seq >= $2"
);

pub(crate) const INSERT_SEEN_MARK: &str = concat!(
    "INSERT INTO support_seen_marks (",
    seen_mark_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
);

/// Head of the batched "marks covering each conversation's newest
/// message" query; the caller appends `IN (...)`. The list filters the
/// conversations, not the marks: PostgreSQL does not carry an `IN` list
/// across the join, and filtering the marks side made it hash-join against
/// a sequential scan of every conversation (2.8 ms instead of 0.2 ms for a
/// page at 10k conversations; see BENCHMARKS.md).
pub(crate) const LAST_MESSAGE_MARKS: &str = concat!(
    "SELECT s.conversation_id, s.reader_id, s.reader_role, s.up_to, s.up_to_seq, ",
    "s.seen_count, s.seen_at FROM support_conversations c ",
    "JOIN support_seen_marks s ON s.conversation_id = c.id AND s.up_to_seq = c.message_count ",
    "WHERE c.id IN ("
);

pub(crate) const EVENTS_AFTER: &str = "SELECT seq, conversation_owner, payload, created_at \
     FROM support_events WHERE seq > $1 ORDER BY seq ASC LIMIT $2";

/// Two subqueries, not `SELECT MIN(seq), MAX(seq)`: SQLite answers a
/// lone `MIN` or `MAX` from the index, but scans the whole log for both in
/// one select.
pub(crate) const EVENT_LOG_BOUNDS: &str = "SELECT \
     (SELECT MIN(seq) FROM support_events) AS oldest, \
     (SELECT MAX(seq) FROM support_events) AS latest";

pub(crate) const PRUNE_EVENTS: &str = "DELETE FROM support_events WHERE created_at < $1 \
     AND seq < (SELECT MAX(seq) FROM support_events)";

pub(crate) const ANALYTICS_COUNTS: &str = "SELECT \
     (SELECT COUNT(*) FROM support_conversations WHERE created_at >= $1 AND created_at < $2) \
         AS conversations_created, \
     (SELECT COUNT(*) FROM support_closures WHERE closed_at >= $1 AND closed_at < $2) \
         AS conversations_closed, \
     (SELECT COUNT(*) FROM support_messages WHERE created_at >= $1 AND created_at < $2 \
         AND NOT is_admin_message) AS messages_from_users, \
     (SELECT COUNT(*) FROM support_messages WHERE created_at >= $1 AND created_at < $2 \
         AND is_admin_message) AS messages_from_admins, \
     (SELECT COUNT(*) FROM support_conversations WHERE status = 'open') AS open_now, \
     (SELECT COUNT(*) FROM support_conversations \
         WHERE status = 'open' AND NOT last_message_from_admin) AS awaiting_reply_now";

pub(crate) const ANALYTICS_FIRST_RESPONSES: &str = "SELECT first_admin_reply_at - created_at \
     FROM support_conversations WHERE created_at >= $1 AND created_at < $2 \
     AND first_admin_reply_at IS NOT NULL";

pub(crate) const ANALYTICS_RESOLUTIONS: &str = "SELECT k.closed_at - c.created_at \
     FROM support_closures k JOIN support_conversations c ON c.id = k.conversation_id \
     WHERE k.closed_at >= $1 AND k.closed_at < $2";

macro_rules! conversation_by_id {
    () => {
        concat!(
            "SELECT ",
            $crate::sql::conversation_columns!(""),
            " FROM support_conversations WHERE id = $1"
        )
    };
}

macro_rules! open_conversation_of {
    () => {
        concat!(
            "SELECT ",
            $crate::sql::conversation_columns!(""),
            " FROM support_conversations WHERE user_id = $1 AND status = 'open'"
        )
    };
}

macro_rules! latest_conversation_of {
    () => {
        concat!(
            "SELECT ",
            $crate::sql::conversation_columns!(""),
            " FROM support_conversations WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1"
        )
    };
}

pub(crate) use {conversation_by_id, latest_conversation_of, open_conversation_of};
