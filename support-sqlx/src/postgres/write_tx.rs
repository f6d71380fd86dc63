//! [`support_core::WriteTx`] on PostgreSQL: row locks (`FOR UPDATE`) for
//! read-then-write; events queued with the commit and numbered just after
//! it (`postgres::sequencer`).

use async_trait::async_trait;
use sqlx::Postgres;
use support_core::{
    ClientId, Closure, Conversation, ConversationId, EventSeq, Message, MessageId, NewEvent,
    Outbox, SeenMark, StorageResult, UserId, WriteTx,
};
use uuid::Uuid;

use super::PostgresWriteTx;
use super::listener::{self, channel};
use crate::error::{Write, backend, classify};
use crate::rows::{
    ConversationRecord, MessageRecord, SeenMarkRecord, micros, payload_json, role_name,
};
use crate::{outbox, sql};

/// Head of the event queue insert; `VALUES ...` follow.
const QUEUE_EVENTS: &str = "INSERT INTO support_event_queue \
     (conversation_id, conversation_owner, kind, payload, created_at) ";

/// Tells the other processes' workers of a job due at once, after the
/// commit, without waiting for a WAL flush: the listener's payload for "no
/// new position, jobs".
const TELL_DUE_JOBS: &str = concat!(
    "SELECT set_config('synchronous_commit', 'off', true), pg_notify(",
    channel!(),
    ", $1)"
);

impl PostgresWriteTx {
    async fn fetch_conversation(
        &mut self,
        sql: &'static str,
        key: Uuid,
    ) -> StorageResult<Option<Conversation>> {
        sqlx::query_as::<Postgres, ConversationRecord>(sql)
            .bind(key)
            .fetch_optional(self.conn())
            .await
            .map_err(backend)?
            .map(Conversation::try_from)
            .transpose()
    }

    async fn fetch_conversation_of(
        &mut self,
        sql: &'static str,
        user: &UserId,
    ) -> StorageResult<Option<Conversation>> {
        sqlx::query_as::<Postgres, ConversationRecord>(sql)
            .bind(user.as_str())
            .fetch_optional(self.conn())
            .await
            .map_err(backend)?
            .map(Conversation::try_from)
            .transpose()
    }
}

impl PostgresWriteTx {
    /// Cancels, then enqueues (coalescing on the key), in this
    /// transaction.
    async fn apply_outbox(&mut self, outbox: &Outbox) -> StorageResult<()> {
        for cancel in &outbox.cancel {
            sqlx::query::<Postgres>(outbox::CANCEL_SCHEDULED)
                .bind(cancel.conversation_id.as_uuid())
                .bind(cancel.kind.as_str())
                .bind(cancel.reason.as_str())
                .bind(micros(cancel.at))
                .execute(self.conn())
                .await
                .map_err(backend)?;
        }
        for job in &outbox.enqueue {
            sqlx::query::<Postgres>(outbox::INSERT_JOB)
                .bind(job.id.as_uuid())
                .bind(job.kind.as_str())
                .bind(job.channel.as_str())
                .bind(job.recipient.user().map(|u| u.as_str()))
                .bind(job.conversation_id.as_uuid())
                .bind(job.coalesce_key.as_str())
                .bind(micros(job.due_at))
                .bind(micros(job.created_at))
                .execute(self.conn())
                .await
                .map_err(backend)?;
        }
        Ok(())
    }
}

#[async_trait]
impl WriteTx for PostgresWriteTx {
    async fn open_conversation_of(&mut self, user: &UserId) -> StorageResult<Option<Conversation>> {
        self.fetch_conversation_of(super::OPEN_CONVERSATION_OF, user)
            .await
    }

    async fn latest_conversation_of(
        &mut self,
        user: &UserId,
    ) -> StorageResult<Option<Conversation>> {
        self.fetch_conversation_of(super::LATEST_CONVERSATION_OF, user)
            .await
    }

    async fn conversation(&mut self, id: ConversationId) -> StorageResult<Option<Conversation>> {
        self.fetch_conversation(super::CONVERSATION_FOR_UPDATE, id.as_uuid())
            .await
    }

    async fn insert_conversation(&mut self, c: &Conversation) -> StorageResult<()> {
        sqlx::query::<Postgres>(sql::INSERT_CONVERSATION)
            .bind(c.id.as_uuid())
            .bind(c.user_id.as_str())
            .bind(c.status.as_str())
            .bind(micros(c.created_at))
            .bind(micros(c.updated_at))
            .bind(micros(c.last_message_at))
            .bind(c.closed_at.map(micros))
            .bind(c.message_count)
            .bind(c.user_message_count)
            .bind(c.admin_message_count)
            .bind(c.last_message_from_admin)
            .bind(c.first_admin_reply_at.map(micros))
            .execute(self.conn())
            .await
            .map_err(|e| classify(e, Write::Conversation))?;
        Ok(())
    }

    async fn update_conversation(&mut self, c: &Conversation) -> StorageResult<()> {
        sqlx::query::<Postgres>(sql::UPDATE_CONVERSATION)
            .bind(c.id.as_uuid())
            .bind(c.status.as_str())
            .bind(micros(c.updated_at))
            .bind(micros(c.last_message_at))
            .bind(c.closed_at.map(micros))
            .bind(c.message_count)
            .bind(c.user_message_count)
            .bind(c.admin_message_count)
            .bind(c.last_message_from_admin)
            .bind(c.first_admin_reply_at.map(micros))
            .execute(self.conn())
            .await
            .map_err(|e| classify(e, Write::Conversation))?;
        Ok(())
    }

    async fn insert_closure(&mut self, closure: &Closure) -> StorageResult<()> {
        sqlx::query::<Postgres>(sql::INSERT_CLOSURE)
            .bind(closure.conversation_id.as_uuid())
            .bind(closure.closed_by.as_str())
            .bind(micros(closure.closed_at))
            .execute(self.conn())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn message(
        &mut self,
        conversation: ConversationId,
        id: MessageId,
    ) -> StorageResult<Option<Message>> {
        sqlx::query_as::<Postgres, MessageRecord>(sql::MESSAGE_BY_ID)
            .bind(conversation.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(self.conn())
            .await
            .map_err(backend)?
            .map(Message::try_from)
            .transpose()
    }

    async fn message_by_client_id(
        &mut self,
        author: &UserId,
        client_id: &ClientId,
    ) -> StorageResult<Option<Message>> {
        sqlx::query_as::<Postgres, MessageRecord>(sql::MESSAGE_BY_CLIENT_ID)
            .bind(author.as_str())
            .bind(client_id.as_str())
            .fetch_optional(self.conn())
            .await
            .map_err(backend)?
            .map(Message::try_from)
            .transpose()
    }

    async fn insert_message(&mut self, m: &Message) -> StorageResult<()> {
        sqlx::query::<Postgres>(sql::INSERT_MESSAGE)
            .bind(m.id.as_uuid())
            .bind(m.conversation_id.as_uuid())
            .bind(m.seq)
            .bind(m.user_id.as_str())
            .bind(m.content.as_str())
            .bind(m.is_admin_message)
            .bind(m.client_id.as_ref().map(|c| c.as_str()))
            .bind(micros(m.created_at))
            .bind(micros(m.updated_at))
            .execute(self.conn())
            .await
            .map_err(|e| classify(e, Write::Message))?;
        Ok(())
    }

    async fn newest_seen_mark(
        &mut self,
        conversation: ConversationId,
        reader: &UserId,
    ) -> StorageResult<Option<SeenMark>> {
        sqlx::query_as::<Postgres, SeenMarkRecord>(sql::NEWEST_SEEN_MARK)
            .bind(conversation.as_uuid())
            .bind(reader.as_str())
            .fetch_optional(self.conn())
            .await
            .map_err(backend)?
            .map(SeenMark::try_from)
            .transpose()
    }

    async fn count_messages(
        &mut self,
        conversation: ConversationId,
        from_admins: bool,
        up_to_seq: i64,
    ) -> StorageResult<i64> {
        sqlx::query_scalar::<Postgres, i64>(sql::COUNT_MESSAGES)
            .bind(conversation.as_uuid())
            .bind(from_admins)
            .bind(up_to_seq)
            .fetch_one(self.conn())
            .await
            .map_err(backend)
    }

    async fn insert_seen_mark(&mut self, mark: &SeenMark) -> StorageResult<()> {
        sqlx::query::<Postgres>(sql::INSERT_SEEN_MARK)
            .bind(mark.conversation_id.as_uuid())
            .bind(mark.reader_id.as_str())
            .bind(role_name(mark.reader_role))
            .bind(mark.up_to.as_uuid())
            .bind(mark.up_to_seq)
            .bind(mark.seen_count)
            .bind(micros(mark.seen_at))
            .execute(self.conn())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn commit(self: Box<Self>, events: Vec<NewEvent>) -> StorageResult<()> {
        self.commit_with_outbox(events, Outbox::default()).await
    }

    async fn commit_with_outbox(
        mut self: Box<Self>,
        events: Vec<NewEvent>,
        outbox: Outbox,
    ) -> StorageResult<()> {
        if !outbox.is_empty() {
            self.apply_outbox(&outbox).await?;
        }
        let due_jobs = outbox.has_due_jobs();
        let queued = !events.is_empty();
        if queued {
            // One statement for all of them, in order: no lock shared with
            // other writers, so commits share WAL flushes.
            let mut payloads = Vec::with_capacity(events.len());
            for event in &events {
                payloads.push(payload_json(&event.payload)?);
            }
            let mut sql = sqlx::QueryBuilder::<Postgres>::new(QUEUE_EVENTS);
            sql.push_values(events.iter().zip(payloads), |mut row, (event, payload)| {
                row.push_bind(event.payload.conversation_id().as_uuid())
                    .push_bind(event.conversation_owner.as_str().to_owned())
                    .push_bind(event.payload.name())
                    .push_bind(payload)
                    .push_bind(micros(event.at));
            });
            sql.build().execute(self.conn()).await.map_err(backend)?;
        }
        let storage = self.storage.clone();
        self.finish().await?;
        if due_jobs {
            storage.signals.committed(EventSeq(0), true);
            // After the commit, not in it: a notifying commit holds
            // PostgreSQL's notification lock through its WAL flush, so
            // commits would take turns again. The jobs are committed;
            // a lost wake-up leaves them to the workers' poll.
            if let Err(error) = sqlx::query::<Postgres>(TELL_DUE_JOBS)
                .bind(format!("0{}", listener::DUE_JOBS))
                .execute(&storage.pool)
                .await
            {
                tracing::warn!(%error, "cannot wake the other processes' workers");
            }
        }
        if queued {
            storage.sequenced().await;
        }
        Ok(())
    }
}
