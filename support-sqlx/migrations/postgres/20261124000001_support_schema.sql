-- support-sqlx schema, PostgreSQL dialect.
-- Timestamps are BIGINT microseconds since the Unix epoch (both dialects),
-- so ordering and keyset comparisons are exact and identical to SQLite.

CREATE TABLE support_conversations (
    id                      UUID    NOT NULL PRIMARY KEY,
    user_id                 TEXT    NOT NULL,
    status                  TEXT    NOT NULL CHECK (status IN ('open', 'closed')),
    created_at              BIGINT  NOT NULL,
    updated_at              BIGINT  NOT NULL,
    last_message_at         BIGINT  NOT NULL,
    closed_at               BIGINT,
    message_count           BIGINT  NOT NULL,
    user_message_count      BIGINT  NOT NULL,
    admin_message_count     BIGINT  NOT NULL,
    last_message_from_admin BOOLEAN NOT NULL,
    first_admin_reply_at    BIGINT
);

CREATE UNIQUE INDEX support_conversations_one_open_per_user
    ON support_conversations (user_id) WHERE status = 'open';
CREATE INDEX support_conversations_by_activity
    ON support_conversations (last_message_at DESC, id DESC);
CREATE INDEX support_conversations_by_user_activity
    ON support_conversations (user_id, last_message_at DESC, id DESC);
CREATE INDEX support_conversations_by_status_activity
    ON support_conversations (status, last_message_at DESC, id DESC);
CREATE INDEX support_conversations_awaiting_reply
    ON support_conversations (last_message_at DESC, id DESC)
    WHERE status = 'open' AND NOT last_message_from_admin;
CREATE INDEX support_conversations_by_user_created
    ON support_conversations (user_id, created_at DESC);
CREATE INDEX support_conversations_by_created
    ON support_conversations (created_at);

CREATE TABLE support_messages (
    id               UUID    NOT NULL PRIMARY KEY,
    conversation_id  UUID    NOT NULL REFERENCES support_conversations (id) ON DELETE CASCADE,
    seq              BIGINT  NOT NULL,
    user_id          TEXT    NOT NULL,
    content          TEXT    NOT NULL,
    is_admin_message BOOLEAN NOT NULL,
    client_id        TEXT,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    search           TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED,
    UNIQUE (conversation_id, seq)
);

CREATE UNIQUE INDEX support_messages_client_id
    ON support_messages (user_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX support_messages_by_created
    ON support_messages (created_at, is_admin_message);
CREATE INDEX support_messages_search ON support_messages USING GIN (search);

CREATE TABLE support_seen_marks (
    conversation_id UUID   NOT NULL REFERENCES support_conversations (id) ON DELETE CASCADE,
    reader_id       TEXT   NOT NULL,
    reader_role     TEXT   NOT NULL CHECK (reader_role IN ('user', 'admin')),
    up_to           UUID   NOT NULL,
    up_to_seq       BIGINT NOT NULL,
    seen_count      BIGINT NOT NULL,
    seen_at         BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, reader_id, up_to_seq)
);
CREATE INDEX support_seen_marks_by_seq ON support_seen_marks (conversation_id, up_to_seq);

CREATE TABLE support_closures (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id UUID   NOT NULL REFERENCES support_conversations (id) ON DELETE CASCADE,
    closed_by       TEXT   NOT NULL,
    closed_at       BIGINT NOT NULL
);
CREATE INDEX support_closures_by_closed ON support_closures (closed_at);

-- The event log. Writers append under a transaction-level advisory lock
-- taken just before commit, so positions are assigned in commit order and a
-- reader that saw position N can never later find a committed N-1.
CREATE TABLE support_events (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id    UUID   NOT NULL,
    conversation_owner TEXT   NOT NULL,
    kind               TEXT   NOT NULL,
    payload            TEXT   NOT NULL,
    created_at         BIGINT NOT NULL
);
CREATE INDEX support_events_by_created ON support_events (created_at);
