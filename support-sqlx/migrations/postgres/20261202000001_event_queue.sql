-- Events that writers committed and the log has not numbered yet. A write
-- transaction inserts its events here, with no lock, so concurrent commits
-- share PostgreSQL's WAL flushes; a sequencer (one at a time across every
-- process, under the event-log advisory lock) moves them into
-- support_events in batches, numbering them as it goes. A reader that saw
-- position N can still never later find a new N-1.
CREATE TABLE support_event_queue (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id    UUID   NOT NULL,
    conversation_owner TEXT   NOT NULL,
    kind               TEXT   NOT NULL,
    payload            TEXT   NOT NULL,
    created_at         BIGINT NOT NULL
);
