//! The storage implementation, written once and instantiated per dialect.
//!
//! sqlx code generic over `Database` needs a wall of higher-ranked bounds
//! that async-trait futures rarely satisfy; a macro instantiated for
//! `Sqlite` and `Postgres` keeps one copy of the logic, type-checked twice.
//! Each dialect module provides: `$store { pool }` with `begin_tx` (the
//! domain's [`support_core::WriteTx`], which each dialect implements in its
//! own `write_tx.rs`: PostgreSQL through sqlx, SQLite on its writer
//! connection) and `begin_write` (a sqlx transaction for the writes below,
//! with `conn()` and `finish()`), `log_wakeups` and `job_wakeups` (its
//! commit signals, see [`crate::signal`]), `ephemeral_bus_of`, plus `CLAIM_JOBS` and
//! `push_search`.

macro_rules! sql_storage {
    (db: $db:ty, storage: $storage:ty, dialect: $dialect:path) => {
        use $dialect as dialect;

        #[async_trait::async_trait]
        impl support_core::Storage for $storage {
            async fn begin(&self) -> support_core::StorageResult<Box<dyn support_core::WriteTx>> {
                self.begin_tx().await
            }

            fn log_signal(&self) -> support_core::LogWakeups {
                self.log_wakeups()
            }

            fn job_signal(&self) -> support_core::JobWakeups {
                self.job_wakeups()
            }

            fn ephemeral_bus(&self) -> Option<std::sync::Arc<dyn support_core::EphemeralBus>> {
                self.ephemeral_bus_of()
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
                let rows = if limit == 0 {
                    Vec::new()
                } else {
                    sqlx::query_as::<$db, $crate::rows::EventRecord>($crate::sql::EVENTS_AFTER)
                        .bind(after.0)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::error::backend)?
                };
                let read_through = rows.last().map(|row| support_core::EventSeq(row.seq));
                let events = $crate::rows::decodable_events(rows);
                // Read after the rows: `latest` is never behind what was
                // read, and when it is ahead, more is there to read.
                let bounds =
                    sqlx::query_as::<$db, $crate::rows::LogBounds>($crate::sql::EVENT_LOG_BOUNDS)
                        .fetch_one(&self.pool)
                        .await
                        .map_err($crate::error::backend)?;
                let latest = read_through
                    .map(|seq| seq.0)
                    .max(bounds.latest)
                    .unwrap_or(0);
                Ok(support_core::EventLogSlice {
                    events,
                    read_through,
                    oldest: bounds.oldest.map(support_core::EventSeq),
                    latest: support_core::EventSeq(latest),
                })
            }

            async fn prune_events(
                &self,
                before: chrono::DateTime<chrono::Utc>,
            ) -> support_core::StorageResult<u64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query::<$db>($crate::sql::PRUNE_EVENTS)
                    .bind($crate::rows::micros(before))
                    .execute(tx.conn())
                    .await
                    .map_err($crate::error::backend)?;
                Box::new(tx).finish().await?;
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
    };
}

pub(crate) use sql_storage;
