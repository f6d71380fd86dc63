-- Notifications: the job queue (a transactional outbox), per-user switches
-- and the contact details the host vouched for. PostgreSQL dialect.

CREATE TABLE support_jobs (
    id              UUID    NOT NULL PRIMARY KEY, -- also the delivery id
    kind            TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    recipient       TEXT,                         -- a user id; NULL: the team
    conversation_id UUID    NOT NULL,
    coalesce_key    TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN
                        ('scheduled', 'running', 'retrying', 'done', 'cancelled', 'dead')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    due_at          BIGINT  NOT NULL,
    lease_token     UUID,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

-- One scheduled job per key: later ones coalesce into it.
CREATE UNIQUE INDEX support_jobs_coalesce
    ON support_jobs (coalesce_key) WHERE state = 'scheduled';
-- Claims: due waiting jobs, and running ones whose lease ran out.
CREATE INDEX support_jobs_due
    ON support_jobs (due_at) WHERE state IN ('scheduled', 'retrying');
CREATE INDEX support_jobs_leased
    ON support_jobs (lease_until) WHERE state = 'running';
-- Cancelling a conversation's scheduled jobs.
CREATE INDEX support_jobs_scheduled_by_conversation
    ON support_jobs (conversation_id, kind) WHERE state = 'scheduled';
-- The admin listing.
CREATE INDEX support_jobs_by_state ON support_jobs (state, created_at DESC);
CREATE INDEX support_jobs_by_created ON support_jobs (created_at DESC);

CREATE TABLE support_notification_preferences (
    user_id    TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    enabled    BOOLEAN NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, kind, channel)
);

CREATE TABLE support_contacts (
    user_id    TEXT    NOT NULL PRIMARY KEY,
    name       TEXT,
    email      TEXT,
    phone      TEXT,
    updated_at BIGINT  NOT NULL
);
