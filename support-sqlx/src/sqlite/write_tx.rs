//! [`WriteTx`] on the writer connection: the same SQL as PostgreSQL's
//! (`crate::sql`, `crate::outbox`), run inline (see `group_commit`).

use async_trait::async_trait;
use rusqlite::Row;
use support_core::{
    ClientId, Closure, Conversation, ConversationId, EventSeq, Message, MessageId, NewEvent,
    Outbox, SeenMark, StorageError, StorageResult, UserId, WriteTx,
};

use super::group_commit::{Appended, SqliteWriteTx};
use super::statement::{Params, execute, query_one};
use crate::error::{Write, classify_rusqlite, classify_rusqlite_write};
use crate::rows::{
    ConversationRecord, MessageRecord, SeenMarkRecord, micros, payload_json, role_name,
};
use crate::{outbox, sql};

/// Appends one event and returns its position.
const INSERT_EVENT: &str = concat!(
    "INSERT INTO support_events (conversation_id, conversation_owner, kind, payload, created_at) ",
    "VALUES ($1, $2, $3, $4, $5) RETURNING seq"
);

impl SqliteWriteTx {
    fn execute(&self, sql: &str, params: Params<'_>, write: Write) -> StorageResult<usize> {
        execute(self.batch_conn()?, sql, params).map_err(|e| classify_rusqlite_write(e, write))
    }

    fn fetch<R, T>(
        &self,
        sql: &str,
        params: Params<'_>,
        decode: fn(&Row<'_>) -> rusqlite::Result<R>,
    ) -> StorageResult<Option<T>>
    where
        T: TryFrom<R, Error = StorageError>,
    {
        query_one(self.batch_conn()?, sql, params, decode)
            .map_err(classify_rusqlite)?
            .map(T::try_from)
            .transpose()
    }

    fn conversation_where(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> StorageResult<Option<Conversation>> {
        self.fetch(sql, params, ConversationRecord::from_rusqlite)
    }

    /// Cancels, then enqueues (coalescing on the key), in this transaction.
    fn apply_outbox(&self, outbox: &Outbox) -> StorageResult<()> {
        for cancel in &outbox.cancel {
            self.execute(
                outbox::CANCEL_SCHEDULED,
                &[
                    &cancel.conversation_id.as_uuid(),
                    &cancel.kind.as_str(),
                    &cancel.reason.as_str(),
                    &micros(cancel.at),
                ],
                Write::Other,
            )?;
        }
        for job in &outbox.enqueue {
            self.execute(
                outbox::INSERT_JOB,
                &[
                    &job.id.as_uuid(),
                    &job.kind.as_str(),
                    &job.channel.as_str(),
                    &job.recipient.user().map(UserId::as_str),
                    &job.conversation_id.as_uuid(),
                    &job.coalesce_key.as_str(),
                    &micros(job.due_at),
                    &micros(job.created_at),
                ],
                Write::Other,
            )?;
        }
        Ok(())
    }

    fn append_event(&self, event: &NewEvent) -> StorageResult<i64> {
        let payload = payload_json(&event.payload)?;
        query_one(
            self.batch_conn()?,
            INSERT_EVENT,
            &[
                &event.payload.conversation_id().as_uuid(),
                &event.conversation_owner.as_str(),
                &event.payload.name(),
                &payload,
                &micros(event.at),
            ],
            |row| row.get::<_, i64>(0),
        )
        .map_err(classify_rusqlite)?
        .ok_or_else(|| StorageError::Backend("the event insert returned no position".into()))
    }
}

#[async_trait]
impl WriteTx for SqliteWriteTx {
    async fn open_conversation_of(&mut self, user: &UserId) -> StorageResult<Option<Conversation>> {
        self.conversation_where(super::OPEN_CONVERSATION_OF, &[&user.as_str()])
    }

    async fn latest_conversation_of(
        &mut self,
        user: &UserId,
    ) -> StorageResult<Option<Conversation>> {
        self.conversation_where(super::LATEST_CONVERSATION_OF, &[&user.as_str()])
    }

    async fn conversation(&mut self, id: ConversationId) -> StorageResult<Option<Conversation>> {
        self.conversation_where(super::CONVERSATION_FOR_UPDATE, &[&id.as_uuid()])
    }

    async fn insert_conversation(&mut self, c: &Conversation) -> StorageResult<()> {
        self.execute(
            sql::INSERT_CONVERSATION,
            &[
                &c.id.as_uuid(),
                &c.user_id.as_str(),
                &c.status.as_str(),
                &micros(c.created_at),
                &micros(c.updated_at),
                &micros(c.last_message_at),
                &c.closed_at.map(micros),
                &c.message_count,
                &c.user_message_count,
                &c.admin_message_count,
                &c.last_message_from_admin,
                &c.first_admin_reply_at.map(micros),
            ],
            Write::Conversation,
        )?;
        Ok(())
    }

    async fn update_conversation(&mut self, c: &Conversation) -> StorageResult<()> {
        self.execute(
            sql::UPDATE_CONVERSATION,
            &[
                &c.id.as_uuid(),
                &c.status.as_str(),
                &micros(c.updated_at),
                &micros(c.last_message_at),
                &c.closed_at.map(micros),
                &c.message_count,
                &c.user_message_count,
                &c.admin_message_count,
                &c.last_message_from_admin,
                &c.first_admin_reply_at.map(micros),
            ],
            Write::Conversation,
        )?;
        Ok(())
    }

    async fn insert_closure(&mut self, closure: &Closure) -> StorageResult<()> {
        self.execute(
            sql::INSERT_CLOSURE,
            &[
                &closure.conversation_id.as_uuid(),
                &closure.closed_by.as_str(),
                &micros(closure.closed_at),
            ],
            Write::Other,
        )?;
        Ok(())
    }

    async fn message(
        &mut self,
        conversation: ConversationId,
        id: MessageId,
    ) -> StorageResult<Option<Message>> {
        self.fetch(
            sql::MESSAGE_BY_ID,
            &[&conversation.as_uuid(), &id.as_uuid()],
            MessageRecord::from_rusqlite,
        )
    }

    async fn message_by_client_id(
        &mut self,
        author: &UserId,
        client_id: &ClientId,
    ) -> StorageResult<Option<Message>> {
        self.fetch(
            sql::MESSAGE_BY_CLIENT_ID,
            &[&author.as_str(), &client_id.as_str()],
            MessageRecord::from_rusqlite,
        )
    }

    async fn insert_message(&mut self, m: &Message) -> StorageResult<()> {
        self.execute(
            sql::INSERT_MESSAGE,
            &[
                &m.id.as_uuid(),
                &m.conversation_id.as_uuid(),
                &m.seq,
                &m.user_id.as_str(),
                &m.content.as_str(),
                &m.is_admin_message,
                &m.client_id.as_ref().map(ClientId::as_str),
                &micros(m.created_at),
                &micros(m.updated_at),
            ],
            Write::Message,
        )?;
        Ok(())
    }

    async fn newest_seen_mark(
        &mut self,
        conversation: ConversationId,
        reader: &UserId,
    ) -> StorageResult<Option<SeenMark>> {
        self.fetch(
            sql::NEWEST_SEEN_MARK,
            &[&conversation.as_uuid(), &reader.as_str()],
            SeenMarkRecord::from_rusqlite,
        )
    }

    async fn count_messages(
        &mut self,
        conversation: ConversationId,
        from_admins: bool,
        up_to_seq: i64,
    ) -> StorageResult<i64> {
        query_one(
            self.batch_conn()?,
            sql::COUNT_MESSAGES,
            &[&conversation.as_uuid(), &from_admins, &up_to_seq],
            |row| row.get::<_, i64>(0),
        )
        .map(Option::unwrap_or_default)
        .map_err(classify_rusqlite)
    }

    async fn insert_seen_mark(&mut self, mark: &SeenMark) -> StorageResult<()> {
        self.execute(
            sql::INSERT_SEEN_MARK,
            &[
                &mark.conversation_id.as_uuid(),
                &mark.reader_id.as_str(),
                &role_name(mark.reader_role),
                &mark.up_to.as_uuid(),
                &mark.up_to_seq,
                &mark.seen_count,
                &micros(mark.seen_at),
            ],
            Write::Other,
        )?;
        Ok(())
    }

    async fn commit(self: Box<Self>, events: Vec<NewEvent>) -> StorageResult<()> {
        self.commit_with_outbox(events, Outbox::default()).await
    }

    async fn commit_with_outbox(
        self: Box<Self>,
        events: Vec<NewEvent>,
        outbox: Outbox,
    ) -> StorageResult<()> {
        if !outbox.is_empty() {
            self.apply_outbox(&outbox)?;
        }
        let due_jobs = outbox.has_due_jobs();
        // One writer: positions are in commit order already.
        let mut reached = None;
        for event in &events {
            reached = Some(EventSeq(self.append_event(event)?));
        }
        self.finish(Appended { reached, due_jobs }).await
    }
}
