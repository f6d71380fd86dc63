//! The storage implementation, written once and instantiated per dialect.
//!
//! sqlx code generic over `Database` needs a wall of higher-ranked bounds
//! that async-trait futures rarely satisfy; a macro instantiated for
//! `Sqlite` and `Postgres` keeps one copy of the logic, type-checked twice.
//! Each dialect module provides: `$store { pool }` with `begin_write`, a
//! `$tx` with `conn()` (the connection of the open transaction),
//! `note_write()` and `finish()` (commit), the locking-read SQL
//! (`CONVERSATION_FOR_UPDATE`, `OPEN_CONVERSATION_OF`,
//! `LATEST_CONVERSATION_OF`), `lock_event_log` and `push_search`.

macro_rules! sql_storage {
    (db: $db:ty, storage: $storage:ty, tx: $tx:ty, dialect: $dialect:path) => {
        use $dialect as dialect;

        #[async_trait::async_trait]
        impl support_core::Storage for $storage {
            async fn begin(&self) -> support_core::StorageResult<Box<dyn support_core::WriteTx>> {
                Ok(Box::new(self.begin_write().await?))
            }

            async fn conversation(
                &self,
                id: support_core::ConversationId,
                viewer: &support_core::UserId,
            ) -> support_core::StorageResult<Option<support_core::InboxRow>> {
                sqlx::query_as::<$db, $crate::rows::InboxRecord>($crate::sql::INBOX_ONE)
                    .bind(id.as_uuid())
                    .bind(viewer.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::backend)?
                    .map(support_core::InboxRow::try_from)
                    .transpose()
            }

            async fn conversations(
                &self,
                query: &support_core::InboxQuery,
            ) -> support_core::StorageResult<Vec<support_core::InboxRow>> {
                let mut sql = sqlx::QueryBuilder::<$db>::new($crate::sql::INBOX_SELECT);
                sql.push_bind(query.viewer.as_str().to_owned());
                sql.push($crate::sql::INBOX_FROM);
                if let Some(owner) = &query.owner {
                    sql.push(" AND c.user_id = ")
                        .push_bind(owner.as_str().to_owned());
                }
                if let Some(status) = query.status {
                    sql.push(" AND c.status = ").push_bind(status.as_str());
                }
                if query.awaiting_reply {
                    sql.push(" AND c.status = 'open' AND NOT c.last_message_from_admin");
                }
                if let Some(terms) = &query.search {
                    dialect::push_search(&mut sql, terms);
                }
                if let Some(after) = &query.after {
                    sql.push(" AND (c.last_message_at, c.id) < (")
                        .push_bind($crate::rows::micros(after.last_message_at))
                        .push(", ")
                        .push_bind(after.id.as_uuid())
                        .push(")");
                }
                // The page size is a validated integer (at most 101), written
                // into the SQL rather than bound: PostgreSQL then keeps one
                // plan for the page query instead of re-planning every call.
                sql.push($crate::sql::INBOX_ORDER).push(query.fetch);
                sql.build_query_as::<$crate::rows::InboxRecord>()
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::backend)?
                    .into_iter()
                    .map(support_core::InboxRow::try_from)
                    .collect()
            }

            async fn message(
                &self,
                conversation: support_core::ConversationId,
                id: support_core::MessageId,
            ) -> support_core::StorageResult<Option<support_core::Message>> {
                sqlx::query_as::<$db, $crate::rows::MessageRecord>($crate::sql::MESSAGE_BY_ID)
                    .bind(conversation.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::backend)?
                    .map(support_core::Message::try_from)
                    .transpose()
            }

            async fn messages(
                &self,
                conversation: support_core::ConversationId,
                range: support_core::MessageRange,
            ) -> support_core::StorageResult<Vec<support_core::Message>> {
                use support_core::MessageRange;
                let query = match range {
                    MessageRange::Latest { limit } => sqlx::query_as::<
                        $db,
                        $crate::rows::MessageRecord,
                    >($crate::sql::MESSAGES_LATEST)
                    .bind(conversation.as_uuid())
                    .bind(i64::from(limit)),
                    MessageRange::Before { seq, limit } => {
                        sqlx::query_as($crate::sql::MESSAGES_BEFORE)
                            .bind(conversation.as_uuid())
                            .bind(seq)
                            .bind(i64::from(limit))
                    }
                    MessageRange::After { seq, limit } => {
                        sqlx::query_as($crate::sql::MESSAGES_AFTER)
                            .bind(conversation.as_uuid())
                            .bind(seq)
                            .bind(i64::from(limit))
                    }
                };
                query
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::backend)?
                    .into_iter()
                    .map(support_core::Message::try_from)
                    .collect()
            }

            async fn seen_marks(
                &self,
                conversation: support_core::ConversationId,
                from_seq: i64,
            ) -> support_core::StorageResult<Vec<support_core::SeenMark>> {
                sqlx::query_as::<$db, $crate::rows::SeenMarkRecord>($crate::sql::SEEN_MARKS_FROM)
                    .bind(conversation.as_uuid())
                    .bind(from_seq)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::backend)?
                    .into_iter()
                    .map(support_core::SeenMark::try_from)
                    .collect()
            }

            async fn last_message_marks(
                &self,
                conversations: &[support_core::ConversationId],
            ) -> support_core::StorageResult<Vec<support_core::SeenMark>> {
                if conversations.is_empty() {
                    return Ok(Vec::new());
                }
                let mut sql = sqlx::QueryBuilder::<$db>::new($crate::sql::LAST_MESSAGE_MARKS);
                let mut ids = sql.separated(", ");
                for id in conversations {
                    ids.push_bind(id.as_uuid());
                }
                sql.push(")");
                sql.build_query_as::<$crate::rows::SeenMarkRecord>()
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::backend)?
                    .into_iter()
                    .map(support_core::SeenMark::try_from)
                    .collect()
            }

            async fn events_after(
                &self,
                after: support_core::EventSeq,
                limit: u32,
            ) -> support_core::StorageResult<support_core::EventLogSlice> {
                let bounds =
                    sqlx::query_as::<$db, $crate::rows::LogBounds>($crate::sql::EVENT_LOG_BOUNDS)
                        .fetch_one(&self.pool)
                        .await
                        .map_err($crate::error::backend)?;
                let events = if limit == 0 {
                    Vec::new()
                } else {
                    sqlx::query_as::<$db, $crate::rows::EventRecord>($crate::sql::EVENTS_AFTER)
                        .bind(after.0)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::error::backend)?
                        .into_iter()
                        .map(support_core::Event::try_from)
                        .collect::<Result<Vec<_>, _>>()?
                };
                // Read after the bounds: events committed in between are
                // newer than `latest`, never hidden by it.
                let latest = events
                    .last()
                    .map(|e| e.seq.0)
                    .max(bounds.latest)
                    .unwrap_or(0);
                Ok(support_core::EventLogSlice {
                    events,
                    oldest: bounds.oldest.map(support_core::EventSeq),
                    latest: support_core::EventSeq(latest),
                })
            }

            async fn prune_events(
                &self,
                before: chrono::DateTime<chrono::Utc>,
            ) -> support_core::StorageResult<u64> {
                let done = sqlx::query::<$db>($crate::sql::PRUNE_EVENTS)
                    .bind($crate::rows::micros(before))
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::backend)?;
                Ok(done.rows_affected())
            }

            async fn analytics(
                &self,
                range: &support_core::AnalyticsRange,
            ) -> support_core::StorageResult<support_core::AnalyticsInputs> {
                let from = $crate::rows::micros(range.from);
                let to = $crate::rows::micros(range.to);
                let counts = sqlx::query_as::<$db, $crate::rows::AnalyticsCounts>(
                    $crate::sql::ANALYTICS_COUNTS,
                )
                .bind(from)
                .bind(to)
                .fetch_one(&self.pool)
                .await
                .map_err($crate::error::backend)?;
                let first_response_micros =
                    sqlx::query_scalar::<$db, i64>($crate::sql::ANALYTICS_FIRST_RESPONSES)
                        .bind(from)
                        .bind(to)
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::error::backend)?;
                let resolution_micros =
                    sqlx::query_scalar::<$db, i64>($crate::sql::ANALYTICS_RESOLUTIONS)
                        .bind(from)
                        .bind(to)
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::error::backend)?;
                Ok(support_core::AnalyticsInputs {
                    conversations_created: counts.conversations_created,
                    conversations_closed: counts.conversations_closed,
                    messages_from_users: counts.messages_from_users,
                    messages_from_admins: counts.messages_from_admins,
                    open_now: counts.open_now,
                    awaiting_reply_now: counts.awaiting_reply_now,
                    first_response_micros,
                    resolution_micros,
                })
            }

            async fn claim_jobs(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> support_core::StorageResult<Vec<support_core::ClaimedJob>> {
                use $crate::rows::micros;
                let token = uuid::Uuid::now_v7();
                let mut tx = self.begin_write().await?;
                tx.note_write();
                let rows = sqlx::query_as::<$db, $crate::outbox::JobRecord>(dialect::CLAIM_JOBS)
                    .bind(micros(now))
                    .bind(micros(lease_until))
                    .bind(token)
                    .bind(i64::from(limit))
                    .fetch_all(tx.conn())
                    .await
                    .map_err($crate::error::backend)?;
                Box::new(tx).finish().await?;
                $crate::outbox::claimed(rows, token)
            }

            async fn finish_job(
                &self,
                claim: &support_core::ClaimedJob,
                outcome: &support_core::JobOutcome,
                now: chrono::DateTime<chrono::Utc>,
            ) -> support_core::StorageResult<bool> {
                let (state, due_at, error) = $crate::outbox::outcome_columns(outcome);
                let mut tx = self.begin_write().await?;
                tx.note_write();
                let done = sqlx::query::<$db>($crate::outbox::FINISH_JOB)
                    .bind(claim.job.id.as_uuid())
                    .bind(claim.lease_token)
                    .bind(state)
                    .bind(due_at)
                    .bind(error)
                    .bind($crate::rows::micros(now))
                    .execute(tx.conn())
                    .await
                    .map_err($crate::error::backend)?;
                Box::new(tx).finish().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn jobs(
                &self,
                query: &support_core::JobQuery,
            ) -> support_core::StorageResult<Vec<support_core::Job>> {
                let mut sql = sqlx::QueryBuilder::<$db>::new($crate::outbox::JOBS_SELECT);
                if !query.states.is_empty() {
                    sql.push(" AND state IN (");
                    let mut states = sql.separated(", ");
                    for state in &query.states {
                        states.push_bind(state.as_str());
                    }
                    sql.push(")");
                }
                sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
                    .push_bind(i64::from(query.limit));
                sql.build_query_as::<$crate::outbox::JobRecord>()
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::backend)?
                    .into_iter()
                    .map(support_core::Job::try_from)
                    .collect()
            }

            async fn preferences(
                &self,
                user: &support_core::UserId,
            ) -> support_core::StorageResult<Vec<support_core::Preference>> {
                sqlx::query_as::<$db, $crate::outbox::PreferenceRecord>(
                    $crate::outbox::PREFERENCES_OF,
                )
                .bind(user.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::error::backend)?
                .into_iter()
                .map(support_core::Preference::try_from)
                .collect()
            }

            async fn set_preferences(
                &self,
                user: &support_core::UserId,
                preferences: &[support_core::Preference],
                now: chrono::DateTime<chrono::Utc>,
            ) -> support_core::StorageResult<()> {
                let mut tx = self.begin_write().await?;
                tx.note_write();
                for preference in preferences {
                    sqlx::query::<$db>($crate::outbox::UPSERT_PREFERENCE)
                        .bind(user.as_str())
                        .bind(preference.kind.as_str())
                        .bind(preference.channel.as_str())
                        .bind(preference.enabled)
                        .bind($crate::rows::micros(now))
                        .execute(tx.conn())
                        .await
                        .map_err($crate::error::backend)?;
                }
                Box::new(tx).finish().await
            }

            async fn contact(
                &self,
                user: &support_core::UserId,
            ) -> support_core::StorageResult<Option<support_core::Contact>> {
                Ok(
                    sqlx::query_as::<$db, $crate::outbox::ContactRecord>(
                        $crate::outbox::CONTACT_OF,
                    )
                    .bind(user.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::backend)?
                    .map(support_core::Contact::from),
                )
            }

            async fn save_contact(
                &self,
                user: &support_core::UserId,
                contact: &support_core::Contact,
                now: chrono::DateTime<chrono::Utc>,
            ) -> support_core::StorageResult<()> {
                let mut tx = self.begin_write().await?;
                tx.note_write();
                sqlx::query::<$db>($crate::outbox::UPSERT_CONTACT)
                    .bind(user.as_str())
                    .bind(contact.name.as_deref())
                    .bind(contact.email.as_deref())
                    .bind(contact.phone.as_deref())
                    .bind($crate::rows::micros(now))
                    .execute(tx.conn())
                    .await
                    .map_err($crate::error::backend)?;
                Box::new(tx).finish().await
            }
        }

        impl $tx {
            async fn fetch_conversation(
                &mut self,
                sql: &'static str,
                key: sqlx::types::Uuid,
            ) -> support_core::StorageResult<Option<support_core::Conversation>> {
                sqlx::query_as::<$db, $crate::rows::ConversationRecord>(sql)
                    .bind(key)
                    .fetch_optional(self.conn())
                    .await
                    .map_err($crate::error::backend)?
                    .map(support_core::Conversation::try_from)
                    .transpose()
            }

            async fn fetch_conversation_of(
                &mut self,
                sql: &'static str,
                user: &support_core::UserId,
            ) -> support_core::StorageResult<Option<support_core::Conversation>> {
                sqlx::query_as::<$db, $crate::rows::ConversationRecord>(sql)
                    .bind(user.as_str())
                    .fetch_optional(self.conn())
                    .await
                    .map_err($crate::error::backend)?
                    .map(support_core::Conversation::try_from)
                    .transpose()
            }
        }

        impl $tx {
            /// Cancels, then enqueues (coalescing on the key), in this
            /// transaction.
            async fn apply_outbox(
                &mut self,
                outbox: &support_core::Outbox,
                at: Option<chrono::DateTime<chrono::Utc>>,
            ) -> support_core::StorageResult<()> {
                use $crate::rows::micros;
                for cancel in &outbox.cancel {
                    let now = at.unwrap_or_else(chrono::Utc::now);
                    sqlx::query::<$db>($crate::outbox::CANCEL_SCHEDULED)
                        .bind(cancel.conversation_id.as_uuid())
                        .bind(cancel.kind.as_str())
                        .bind(support_core::SkipReason::Seen.as_str())
                        .bind(micros(now))
                        .execute(self.conn())
                        .await
                        .map_err($crate::error::backend)?;
                }
                for job in &outbox.enqueue {
                    sqlx::query::<$db>($crate::outbox::INSERT_JOB)
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
                        .map_err($crate::error::backend)?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl support_core::WriteTx for $tx {
            async fn open_conversation_of(
                &mut self,
                user: &support_core::UserId,
            ) -> support_core::StorageResult<Option<support_core::Conversation>> {
                self.fetch_conversation_of(dialect::OPEN_CONVERSATION_OF, user)
                    .await
            }

            async fn latest_conversation_of(
                &mut self,
                user: &support_core::UserId,
            ) -> support_core::StorageResult<Option<support_core::Conversation>> {
                self.fetch_conversation_of(dialect::LATEST_CONVERSATION_OF, user)
                    .await
            }

            async fn conversation(
                &mut self,
                id: support_core::ConversationId,
            ) -> support_core::StorageResult<Option<support_core::Conversation>> {
                self.fetch_conversation(dialect::CONVERSATION_FOR_UPDATE, id.as_uuid())
                    .await
            }

            async fn insert_conversation(
                &mut self,
                c: &support_core::Conversation,
            ) -> support_core::StorageResult<()> {
                self.note_write();
                use $crate::rows::micros;
                sqlx::query::<$db>($crate::sql::INSERT_CONVERSATION)
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
                    .map_err(|e| $crate::error::classify(e, $crate::error::Write::Conversation))?;
                Ok(())
            }

            async fn update_conversation(
                &mut self,
                c: &support_core::Conversation,
            ) -> support_core::StorageResult<()> {
                self.note_write();
                use $crate::rows::micros;
                sqlx::query::<$db>($crate::sql::UPDATE_CONVERSATION)
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
                    .map_err(|e| $crate::error::classify(e, $crate::error::Write::Conversation))?;
                Ok(())
            }

            async fn insert_closure(
                &mut self,
                closure: &support_core::Closure,
            ) -> support_core::StorageResult<()> {
                self.note_write();
                sqlx::query::<$db>($crate::sql::INSERT_CLOSURE)
                    .bind(closure.conversation_id.as_uuid())
                    .bind(closure.closed_by.as_str())
                    .bind($crate::rows::micros(closure.closed_at))
                    .execute(self.conn())
                    .await
                    .map_err($crate::error::backend)?;
                Ok(())
            }

            async fn message(
                &mut self,
                conversation: support_core::ConversationId,
                id: support_core::MessageId,
            ) -> support_core::StorageResult<Option<support_core::Message>> {
                sqlx::query_as::<$db, $crate::rows::MessageRecord>($crate::sql::MESSAGE_BY_ID)
                    .bind(conversation.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(self.conn())
                    .await
                    .map_err($crate::error::backend)?
                    .map(support_core::Message::try_from)
                    .transpose()
            }

            async fn message_by_client_id(
                &mut self,
                author: &support_core::UserId,
                client_id: &support_core::ClientId,
            ) -> support_core::StorageResult<Option<support_core::Message>> {
                sqlx::query_as::<$db, $crate::rows::MessageRecord>(
                    $crate::sql::MESSAGE_BY_CLIENT_ID,
                )
                .bind(author.as_str())
                .bind(client_id.as_str())
                .fetch_optional(self.conn())
                .await
                .map_err($crate::error::backend)?
                .map(support_core::Message::try_from)
                .transpose()
            }

            async fn insert_message(
                &mut self,
                m: &support_core::Message,
            ) -> support_core::StorageResult<()> {
                self.note_write();
                use $crate::rows::micros;
                sqlx::query::<$db>($crate::sql::INSERT_MESSAGE)
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
                    .map_err(|e| $crate::error::classify(e, $crate::error::Write::Message))?;
                Ok(())
            }

            async fn newest_seen_mark(
                &mut self,
                conversation: support_core::ConversationId,
                reader: &support_core::UserId,
            ) -> support_core::StorageResult<Option<support_core::SeenMark>> {
                sqlx::query_as::<$db, $crate::rows::SeenMarkRecord>($crate::sql::NEWEST_SEEN_MARK)
                    .bind(conversation.as_uuid())
                    .bind(reader.as_str())
                    .fetch_optional(self.conn())
                    .await
                    .map_err($crate::error::backend)?
                    .map(support_core::SeenMark::try_from)
                    .transpose()
            }

            async fn count_messages(
                &mut self,
                conversation: support_core::ConversationId,
                from_admins: bool,
                up_to_seq: i64,
            ) -> support_core::StorageResult<i64> {
                sqlx::query_scalar::<$db, i64>($crate::sql::COUNT_MESSAGES)
                    .bind(conversation.as_uuid())
                    .bind(from_admins)
                    .bind(up_to_seq)
                    .fetch_one(self.conn())
                    .await
                    .map_err($crate::error::backend)
            }

            async fn insert_seen_mark(
                &mut self,
                mark: &support_core::SeenMark,
            ) -> support_core::StorageResult<()> {
                self.note_write();
                sqlx::query::<$db>($crate::sql::INSERT_SEEN_MARK)
                    .bind(mark.conversation_id.as_uuid())
                    .bind(mark.reader_id.as_str())
                    .bind($crate::rows::role_name(mark.reader_role))
                    .bind(mark.up_to.as_uuid())
                    .bind(mark.up_to_seq)
                    .bind(mark.seen_count)
                    .bind($crate::rows::micros(mark.seen_at))
                    .execute(self.conn())
                    .await
                    .map_err($crate::error::backend)?;
                Ok(())
            }

            async fn commit(
                self: Box<Self>,
                events: Vec<support_core::NewEvent>,
            ) -> support_core::StorageResult<Vec<support_core::Event>> {
                self.commit_with_outbox(events, support_core::Outbox::default())
                    .await
            }

            async fn commit_with_outbox(
                mut self: Box<Self>,
                events: Vec<support_core::NewEvent>,
                outbox: support_core::Outbox,
            ) -> support_core::StorageResult<Vec<support_core::Event>> {
                if !outbox.is_empty() {
                    // Before the event-log lock, which is held until commit.
                    self.note_write();
                    self.apply_outbox(&outbox, events.first().map(|e| e.at))
                        .await?;
                }
                let mut committed = Vec::with_capacity(events.len());
                if !events.is_empty() {
                    self.note_write();
                    dialect::lock_event_log(self.conn()).await?;
                }
                if !events.is_empty() {
                    // One statement for all of them: positions are assigned
                    // in VALUES order, so the sorted positions map to the
                    // events in order.
                    let mut sql = sqlx::QueryBuilder::<$db>::new($crate::sql::INSERT_EVENTS);
                    let mut payloads = Vec::with_capacity(events.len());
                    for event in &events {
                        payloads.push($crate::rows::payload_json(&event.payload)?);
                    }
                    sql.push_values(events.iter().zip(payloads), |mut row, (event, payload)| {
                        row.push_bind(event.payload.conversation_id().as_uuid())
                            .push_bind(event.conversation_owner.as_str().to_owned())
                            .push_bind(event.payload.name())
                            .push_bind(payload)
                            .push_bind($crate::rows::micros(event.at));
                    });
                    sql.push(" RETURNING seq");
                    let mut seqs: Vec<i64> = sql
                        .build_query_scalar::<i64>()
                        .fetch_all(self.conn())
                        .await
                        .map_err($crate::error::backend)?;
                    seqs.sort_unstable();
                    for (event, seq) in events.into_iter().zip(seqs) {
                        committed.push(support_core::Event {
                            seq: support_core::EventSeq(seq),
                            conversation_owner: event.conversation_owner,
                            at: event.at,
                            payload: event.payload,
                        });
                    }
                }
                self.finish().await?;
                Ok(committed)
            }
        }
    };
}

pub(crate) use sql_storage;
