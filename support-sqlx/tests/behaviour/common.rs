//! The fixture every behaviour test runs on: a support desk over a real
//! database, with a clock the test moves.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use support_core::{
    ConversationId, ManualClock, NewMessage, Posted, Principal, Sent, Storage, Support,
    SupportConfig, SupportError, UserId,
};
use support_sqlx::{PostgresStorage, SqliteStorage};
use support_test_harness::TempSqlite;

/// Runs each listed `async fn(Desk)` against SQLite and PostgreSQL.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::common::Desk::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(desk) = $crate::common::Desk::postgres().await {
                        super::$test(desk).await;
                    }
                }
            )*
        }
    };
}

pub struct Desk {
    pub support: Support,
    pub clock: Arc<ManualClock>,
    _file: Option<TempSqlite>,
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
        .expect("valid time")
        .with_timezone(&Utc)
}

impl Desk {
    fn over(storage: Arc<dyn Storage>, file: Option<TempSqlite>) -> Self {
        let clock = Arc::new(ManualClock::new(start_time()));
        let support = Support::new(storage).with_clock(clock.clone());
        Self {
            support,

            clock,
            _file: file,
        }
    }

    /// SQLite in memory: the fast store.
    pub async fn sqlite() -> Self {
        let storage = SqliteStorage::connect("sqlite::memory:")
            .await
            .expect("open in-memory SQLite");
        Self::over(Arc::new(storage), None)
    }

    /// SQLite in a file, with a pool of connections: for concurrency.
    pub async fn sqlite_file() -> Self {
        let file = TempSqlite::new();
        let storage = SqliteStorage::connect(&file.url())
            .await
            .expect("open SQLite file");
        Self::over(Arc::new(storage), Some(file))
    }

    /// PostgreSQL on a schema of its own; `None` when skipped.
    pub async fn postgres() -> Option<Self> {
        let pool = support_test_harness::postgres_pool().await?;
        let storage = PostgresStorage::new(pool);
        storage.migrate().await.expect("migrate PostgreSQL");
        Some(Self::over(Arc::new(storage), None))
    }

    pub fn configure(mut self, config: SupportConfig) -> Self {
        self.support = self.support.clone().with_config(config);
        self
    }

    pub fn tick(&self) {
        self.clock.advance(Duration::seconds(1));
    }

    pub async fn send(&self, who: &Principal, text: &str) -> Sent {
        self.try_send(who, text, None)
            .await
            .unwrap_or_else(|e| panic!("{} could not send {text:?}: {e:?}", who.id))
    }

    pub async fn try_send(
        &self,
        who: &Principal,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<Sent, SupportError> {
        self.tick();
        self.support.send(who, message(text, client_id)).await
    }

    pub async fn post(&self, who: &Principal, id: ConversationId, text: &str) -> Posted {
        self.try_post(who, id, text, None)
            .await
            .unwrap_or_else(|e| panic!("{} could not post {text:?}: {e:?}", who.id))
    }

    pub async fn try_post(
        &self,
        who: &Principal,
        id: ConversationId,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<Posted, SupportError> {
        self.tick();
        self.support.post(who, id, message(text, client_id)).await
    }

    /// A user's conversation, started with `text`.
    pub async fn conversation_of(&self, who: &Principal, text: &str) -> ConversationId {
        self.send(who, text).await.conversation.conversation.id
    }
}

pub fn message(text: &str, client_id: Option<&str>) -> NewMessage {
    NewMessage {
        content: text.to_owned(),
        client_id: client_id.map(str::to_owned),
    }
}

pub fn user(name: &str) -> Principal {
    Principal::user(UserId::parse(name).expect("valid user id"))
}

pub fn admin(name: &str) -> Principal {
    Principal::admin(UserId::parse(name).expect("valid admin id"))
}

pub fn is_not_found(result: &Result<impl std::fmt::Debug, SupportError>) -> bool {
    matches!(result, Err(SupportError::NotFound { .. }))
}

pub fn is_forbidden(result: &Result<impl std::fmt::Debug, SupportError>) -> bool {
    matches!(result, Err(SupportError::Forbidden { .. }))
}

pub fn is_conflict(result: &Result<impl std::fmt::Debug, SupportError>) -> bool {
    matches!(result, Err(SupportError::Conflict { .. }))
}

pub fn invalid_field(result: &Result<impl std::fmt::Debug, SupportError>) -> Option<&'static str> {
    match result {
        Err(SupportError::InvalidInput(e)) => Some(e.field),
        _ => None,
    }
}

impl Desk {
    pub fn clock_now(&self) -> DateTime<Utc> {
        use support_core::Clock;
        self.clock.now()
    }
}
