-- support-sqlx schema, SQLite dialect.
-- Timestamps are INTEGER microseconds since the Unix epoch (both dialects),
-- so ordering and keyset comparisons are exact. Ids are 16-byte UUID blobs.

CREATE TABLE support_conversations (
    id                      BLOB    NOT NULL PRIMARY KEY,
    user_id                 TEXT    NOT NULL,
    status                  TEXT    NOT NULL CHECK (status IN ('open', 'closed')),
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    last_message_at         INTEGER NOT NULL,
    closed_at               INTEGER,
    message_count           INTEGER NOT NULL,
    user_message_count      INTEGER NOT NULL,
    admin_message_count     INTEGER NOT NULL,
    last_message_from_admin INTEGER NOT NULL,
    first_admin_reply_at    INTEGER
);

-- At most one open conversation per user, enforced against races.
CREATE UNIQUE INDEX support_conversations_one_open_per_user
    ON support_conversations (user_id) WHERE status = 'open';
-- The inbox: most recent activity first, optionally per user or status.
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
    -- A stable integer key for the full-text index (VACUUM may renumber an
    -- implicit rowid; an INTEGER PRIMARY KEY is never renumbered).
    row_id           INTEGER PRIMARY KEY,
    id               BLOB    NOT NULL UNIQUE,
    conversation_id  BLOB    NOT NULL REFERENCES support_conversations (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    user_id          TEXT    NOT NULL,
    content          TEXT    NOT NULL,
    is_admin_message INTEGER NOT NULL,
    client_id        TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (conversation_id, seq)
);

-- Idempotent sends: one message per (author, client_id).
CREATE UNIQUE INDEX support_messages_client_id
    ON support_messages (user_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX support_messages_by_created
    ON support_messages (created_at, is_admin_message);

CREATE VIRTUAL TABLE support_messages_fts USING fts5 (
    content,
    content = 'support_messages',
    content_rowid = 'row_id',
    tokenize = 'unicode61 remove_diacritics 0'
);

CREATE TRIGGER support_messages_fts_insert AFTER INSERT ON support_messages BEGIN
    INSERT INTO support_messages_fts (rowid, content) VALUES (new.row_id, new.content);
END;
CREATE TRIGGER support_messages_fts_delete AFTER DELETE ON support_messages BEGIN
    INSERT INTO support_messages_fts (support_messages_fts, rowid, content)
        VALUES ('delete', old.row_id, old.content);
END;
CREATE TRIGGER support_messages_fts_update AFTER UPDATE OF content ON support_messages BEGIN
    INSERT INTO support_messages_fts (support_messages_fts, rowid, content)
        VALUES ('delete', old.row_id, old.content);
    INSERT INTO support_messages_fts (rowid, content) VALUES (new.row_id, new.content);
END;

-- Each forward move of a reader's seen cursor.
CREATE TABLE support_seen_marks (
    conversation_id BLOB    NOT NULL REFERENCES support_conversations (id) ON DELETE CASCADE,
    reader_id       TEXT    NOT NULL,
    reader_role     TEXT    NOT NULL CHECK (reader_role IN ('user', 'admin')),
    up_to           BLOB    NOT NULL,
    up_to_seq       INTEGER NOT NULL,
    seen_count      INTEGER NOT NULL,
    seen_at         INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, reader_id, up_to_seq)
);
CREATE INDEX support_seen_marks_by_seq ON support_seen_marks (conversation_id, up_to_seq);

-- Close actions, for resolution-time analytics.
CREATE TABLE support_closures (
    id              INTEGER PRIMARY KEY,
    conversation_id BLOB    NOT NULL REFERENCES support_conversations (id) ON DELETE CASCADE,
    closed_by       TEXT    NOT NULL,
    closed_at       INTEGER NOT NULL
);
CREATE INDEX support_closures_by_closed ON support_closures (closed_at);

-- The event log. AUTOINCREMENT never reuses a position, and SQLite's single
-- writer makes position order equal commit order.
CREATE TABLE support_events (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id    BLOB    NOT NULL,
    conversation_owner TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    payload            TEXT    NOT NULL,
    created_at         INTEGER NOT NULL
);
CREATE INDEX support_events_by_created ON support_events (created_at);
