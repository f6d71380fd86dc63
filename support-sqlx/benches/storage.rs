//! Storage benchmarks: what the library costs over the SQL it runs.
//!
//! `cargo bench -p support-sqlx` runs, on SQLite (a WAL file) and on
//! PostgreSQL (a throwaway cluster from `support_test_harness`, or
//! `DATABASE_URL`):
//!
//! - `send_<backend>`: [`Support::send`] into the sender's open
//!   conversation, with 1 and 8 concurrent senders, next to a raw-SQL
//!   baseline that runs the same statements through sqlx directly (begin,
//!   read the open conversation, insert the message, update the counters,
//!   check the sender's seen mark, append the events in one multi-row
//!   `INSERT ... RETURNING`, commit). On SQLite the baseline writes one
//!   transaction per send under a writer lock; the library's group commit
//!   (writers that queue up share one transaction) is its own design and
//!   shows with 8 senders.
//! - `inbox_<backend>`: an admin's first inbox page ([`Support::conversations`],
//!   limit 50, with previews and unread counts) at 10k conversations (100k
//!   messages) and at 100k conversations (1M messages), next to the same
//!   two statements run raw (the page with previews and the viewer's seen
//!   count, then the receipts of the previews).
//!
//! Criterion measures each benchmark on its own. Because the machine is
//! shared and noisy, a second, *paired* pass then alternates library and
//! baseline in short rounds and reports the library/baseline ratio, p50 and
//! p99 side by side; it prints a summary and writes it to
//! `bench-data/summary.md`.
//!
//! The inbox data sets are built by the seeding code of `examples/seed.rs`
//! (included below as a module). SQLite data sets are cached in
//! `bench-data/` and reused while the seed's fingerprint matches; PostgreSQL
//! ones are cached in a schema per size when `DATABASE_URL` points at a
//! lasting server (a throwaway cluster is rebuilt every run, about 30 s).
//!
//! `--test` (as in `cargo bench -- --test`) runs everything once on small
//! data sets and writes no summary file. A filter argument skips the setup of groups it cannot match.
//! `SUPPORT_SKIP_POSTGRES=1` skips the PostgreSQL groups.

#[allow(dead_code)]
#[path = "../examples/seed.rs"]
mod seed;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Connection, PgConnection};
use support_core::{InboxRequest, NewMessage, Principal, Support, UserId};
use support_sqlx::{PostgresStorage, SqliteStorage};
use tokio::runtime::Runtime;
use tokio::sync::Mutex;
use uuid::Uuid;

/// The admin whose inbox is read; the seed assigns them 1/8 of the
/// conversations, so they have seen marks on some rows and not others.
const ADMIN: &str = "admin-01";
/// Inbox page size.
const PAGE: u32 = 50;
/// Concurrency levels of the send benchmarks.
const SENDER_COUNTS: [usize; 2] = [1, 8];
/// What every benchmark send writes.
const CONTENT: &str = "Hi, the invoice I got yesterday still shows my old address. \
                       Could you send a corrected one?";

// ---------------------------------------------------------------------------
// Command line and report
// ---------------------------------------------------------------------------

struct Options {
    quick: bool,
    filter: Option<String>,
    skip_postgres: bool,
}

/// Criterion options that take a value (so the value is not the filter).
const VALUED_FLAGS: &[&str] = &[
    "-c",
    "--color",
    "--colour",
    "-s",
    "--save-baseline",
    "-b",
    "--baseline",
    "--baseline-lenient",
    "--load-baseline",
    "--format",
    "--profile-time",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];

impl Options {
    fn from_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut filter = None;
        let mut skip_value = false;
        for arg in &args {
            if skip_value {
                skip_value = false;
            } else if VALUED_FLAGS.contains(&arg.as_str()) {
                skip_value = true;
            } else if !arg.starts_with('-') && filter.is_none() {
                filter = Some(arg.clone());
            }
        }
        Self {
            quick: args.iter().any(|a| a == "--test" || a == "--list"),
            filter,
            skip_postgres: std::env::var("SUPPORT_SKIP_POSTGRES").as_deref() == Ok("1"),
        }
    }

    /// Whether criterion's filter can match one of `ids` (a filter with
    /// regex syntax is assumed to match anything).
    fn selects(&self, ids: &[String]) -> bool {
        match &self.filter {
            None => true,
            Some(f) if f.contains(['^', '$', '.', '*', '+', '?', '(', '[', '|', '\\']) => true,
            Some(f) => ids.iter().any(|id| id.contains(f.as_str())),
        }
    }

    /// Inbox data sets: (label, conversations, messages).
    fn datasets(&self) -> [(&'static str, u64, u64); 2] {
        if self.quick {
            [("1k", 1_000, 10_000), ("5k", 5_000, 50_000)]
        } else {
            [("10k", 10_000, 100_000), ("100k", 100_000, 1_000_000)]
        }
    }

    fn round_time(&self) -> Duration {
        Duration::from_millis(if self.quick { 50 } else { 500 })
    }

    fn rounds(&self) -> usize {
        if self.quick { 2 } else { 8 }
    }
}

/// Latency and throughput of one side of a paired run.
struct Measured {
    ops_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

impl Measured {
    fn from_samples(mut latencies: Vec<Duration>, ops_per_sec: f64) -> Self {
        latencies.sort_unstable();
        Self {
            ops_per_sec,
            p50: percentile(&latencies, 0.50),
            p99: percentile(&latencies, 0.99),
        }
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// The paired results, printed at the end and kept in `bench-data/`.
#[derive(Default)]
struct Report {
    sends: Vec<String>,
    inbox: Vec<String>,
    targets: Vec<String>,
    notes: Vec<String>,
}

impl Report {
    fn render(&self) -> String {
        let mut out = String::from("## Paired runs (library and baseline alternating)\n\n");
        if !self.sends.is_empty() {
            out.push_str(
                "| send | senders | library sends/s | baseline sends/s \
                 | library/baseline (median of rounds, range) \
                 | library p50 / p99 | baseline p50 / p99 |\n|---|---|---|---|---|---|---|\n",
            );
            for line in &self.sends {
                out.push_str(line);
            }
            out.push('\n');
        }
        if !self.inbox.is_empty() {
            out.push_str(
                "| inbox page | data set | library p50 / p99 | baseline p50 / p99 \
                 | library/baseline (speed) |\n|---|---|---|---|---|\n",
            );
            for line in &self.inbox {
                out.push_str(line);
            }
            out.push('\n');
        }
        for line in self.targets.iter().chain(&self.notes) {
            let _ = writeln!(out, "- {line}");
        }
        out
    }
}

/// `bench-data/` at the workspace root (git-ignored).
fn bench_data_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).join("bench-data")
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "NOT MET" }
}

// ---------------------------------------------------------------------------
// The raw-SQL baseline
// ---------------------------------------------------------------------------

macro_rules! select_open_conversation {
    () => {
        "SELECT id, user_id, status, created_at, updated_at, last_message_at, closed_at, \
         message_count, user_message_count, admin_message_count, last_message_from_admin, \
         first_admin_reply_at FROM support_conversations WHERE user_id = $1 AND status = 'open'"
    };
}

const RAW_INSERT_MESSAGE: &str = "INSERT INTO support_messages (id, conversation_id, seq, \
     user_id, content, is_admin_message, client_id, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const RAW_UPDATE_CONVERSATION: &str = "UPDATE support_conversations SET \
     status = $2, updated_at = $3, last_message_at = $4, closed_at = $5, message_count = $6, \
     user_message_count = $7, admin_message_count = $8, last_message_from_admin = $9, \
     first_admin_reply_at = $10 WHERE id = $1";

const RAW_NEWEST_SEEN_COUNT: &str = "SELECT seen_count FROM support_seen_marks \
     WHERE conversation_id = $1 AND reader_id = $2 ORDER BY up_to_seq DESC LIMIT 1";

const RAW_INSERT_SEEN_MARK: &str = "INSERT INTO support_seen_marks (conversation_id, reader_id, \
     reader_role, up_to, up_to_seq, seen_count, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

const RAW_INSERT_EVENTS: &str = "INSERT INTO support_events \
     (conversation_id, conversation_owner, kind, payload, created_at) ";

macro_rules! raw_inbox_up_to_limit {
    () => {
        "SELECT c.id, c.user_id, c.status, c.created_at, c.updated_at, \
         c.last_message_at, c.closed_at, c.message_count, c.user_message_count, \
         c.admin_message_count, c.last_message_from_admin, c.first_admin_reply_at, \
         m.id AS m_id, m.seq AS m_seq, m.user_id AS m_user_id, m.content AS m_content, \
         m.is_admin_message AS m_is_admin_message, m.client_id AS m_client_id, \
         m.created_at AS m_created_at, m.updated_at AS m_updated_at, \
         (SELECT ct.name FROM support_contacts ct WHERE ct.user_id = c.user_id) AS user_name, \
         (SELECT s.seen_count FROM support_seen_marks s WHERE s.conversation_id = c.id \
          AND s.reader_id = $1 ORDER BY s.up_to_seq DESC LIMIT 1) AS viewer_seen_count \
         FROM support_conversations c \
         LEFT JOIN support_messages m ON m.conversation_id = c.id AND m.seq = c.message_count \
         ORDER BY c.last_message_at DESC, c.id DESC LIMIT "
    };
}

/// The library's page query: the limit (page size + 1) is a parameter.
const RAW_INBOX: &str = concat!(raw_inbox_up_to_limit!(), "$2");

/// The same with the limit written into the SQL, for the PostgreSQL
/// plan-cache probe (see `probe_limit_parameter`).
const RAW_INBOX_LITERAL_LIMIT: &str = concat!(raw_inbox_up_to_limit!(), "51");
const _: () = assert!(
    PAGE + 1 == 51,
    "RAW_INBOX_LITERAL_LIMIT spells out PAGE + 1"
);

/// The receipts of the page's previews: marks that reach each newest
/// message (the library's second inbox statement).
const RAW_PREVIEW_MARKS: &str = "SELECT s.conversation_id, s.reader_id, s.reader_role, \
     s.up_to, s.up_to_seq, s.seen_count, s.seen_at FROM support_conversations c \
     JOIN support_seen_marks s ON s.conversation_id = c.id \
     AND s.up_to_seq = c.message_count WHERE c.id IN (";

/// Key of the library's event-log advisory lock (PostgreSQL).
const EVENT_LOG_LOCK: i64 = 0x5355_5050_4f52_5401;

#[derive(sqlx::FromRow)]
struct RawConversation {
    id: Uuid,
    user_id: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    last_message_at: i64,
    closed_at: Option<i64>,
    message_count: i64,
    user_message_count: i64,
    admin_message_count: i64,
    last_message_from_admin: bool,
    first_admin_reply_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
#[allow(dead_code)] // Decoded, as the library decodes it, and dropped.
struct RawInboxRow {
    #[sqlx(flatten)]
    conversation: RawConversation,
    m_id: Option<Uuid>,
    m_seq: Option<i64>,
    m_user_id: Option<String>,
    m_content: Option<String>,
    m_is_admin_message: Option<bool>,
    m_client_id: Option<String>,
    m_created_at: Option<i64>,
    m_updated_at: Option<i64>,
    user_name: Option<String>,
    viewer_seen_count: Option<i64>,
}

#[derive(sqlx::FromRow)]
#[allow(dead_code)] // Decoded, as the library decodes it, and dropped.
struct RawSeenMark {
    conversation_id: Uuid,
    reader_id: String,
    reader_role: String,
    up_to: Uuid,
    up_to_seq: i64,
    seen_count: i64,
    seen_at: i64,
}

fn rfc3339(micros: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

impl RawConversation {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "user_id": self.user_id,
            "status": self.status,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "last_message_at": rfc3339(self.last_message_at),
            "closed_at": self.closed_at.and_then(rfc3339),
            "message_count": self.message_count,
            "user_message_count": self.user_message_count,
            "admin_message_count": self.admin_message_count,
            "last_message_from_admin": self.last_message_from_admin,
            "first_admin_reply_at": self.first_admin_reply_at.and_then(rfc3339),
        })
    }
}

/// One user message appended by hand: the statements of the library's
/// send into an existing open conversation, in the same order.
macro_rules! raw_append {
    ($name:ident, $db:ty, $select_open:expr, $lock_event_log:expr) => {
        async fn $name(
            conn: &mut <$db as sqlx::Database>::Connection,
            user: &str,
            content: &str,
        ) -> Result<(), sqlx::Error> {
            let mut c: RawConversation = sqlx::query_as($select_open)
                .bind(user)
                .fetch_one(&mut *conn)
                .await?;
            let now = chrono::Utc::now().timestamp_micros();
            c.message_count += 1;
            c.user_message_count += 1;
            c.last_message_from_admin = false;
            c.last_message_at = now;
            c.updated_at = now;
            let message_id = Uuid::now_v7();
            sqlx::query(RAW_INSERT_MESSAGE)
                .bind(message_id)
                .bind(c.id)
                .bind(c.message_count)
                .bind(user)
                .bind(content)
                .bind(false)
                .bind(None::<&str>)
                .bind(now)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            sqlx::query(RAW_UPDATE_CONVERSATION)
                .bind(c.id)
                .bind(c.status.as_str())
                .bind(c.updated_at)
                .bind(c.last_message_at)
                .bind(c.closed_at)
                .bind(c.message_count)
                .bind(c.user_message_count)
                .bind(c.admin_message_count)
                .bind(c.last_message_from_admin)
                .bind(c.first_admin_reply_at)
                .execute(&mut *conn)
                .await?;
            let mut events = vec![
                (
                    "message.created",
                    serde_json::json!({"kind": "message.created", "data": {
                        "id": message_id,
                        "conversation_id": c.id,
                        "seq": c.message_count,
                        "user_id": user,
                        "content": content,
                        "is_admin_message": false,
                        "client_id": null,
                        "created_at": rfc3339(now),
                        "updated_at": rfc3339(now),
                    }}),
                ),
                (
                    "conversation.updated",
                    serde_json::json!({"kind": "conversation.updated", "data": c.json()}),
                ),
            ];
            // Whoever writes has seen what they answer.
            let covered = c.admin_message_count;
            if covered > 0 {
                let already: Option<i64> = sqlx::query_scalar(RAW_NEWEST_SEEN_COUNT)
                    .bind(c.id)
                    .bind(user)
                    .fetch_optional(&mut *conn)
                    .await?;
                if already.unwrap_or(0) < covered {
                    sqlx::query(RAW_INSERT_SEEN_MARK)
                        .bind(c.id)
                        .bind(user)
                        .bind("user")
                        .bind(message_id)
                        .bind(c.message_count)
                        .bind(covered)
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                    events.push((
                        "message.seen",
                        serde_json::json!({"kind": "message.seen", "data": {
                            "conversation_id": c.id, "reader_id": user, "reader_role": "user",
                            "up_to": message_id, "up_to_seq": c.message_count,
                            "seen_count": covered, "seen_at": rfc3339(now),
                        }}),
                    ));
                }
            }
            if let Some(lock) = $lock_event_log {
                sqlx::query(lock)
                    .bind(EVENT_LOG_LOCK)
                    .execute(&mut *conn)
                    .await?;
            }
            let mut sql = sqlx::QueryBuilder::<$db>::new(RAW_INSERT_EVENTS);
            sql.push_values(events, |mut row, (kind, payload)| {
                row.push_bind(c.id)
                    .push_bind(user)
                    .push_bind(kind)
                    .push_bind(payload.to_string())
                    .push_bind(now);
            });
            sql.push(" RETURNING seq");
            let _seqs: Vec<i64> = sql.build_query_scalar().fetch_all(&mut *conn).await?;
            Ok(())
        }
    };
}

raw_append!(
    raw_append_sqlite,
    sqlx::Sqlite,
    select_open_conversation!(),
    None::<&'static str>
);
raw_append!(
    raw_append_postgres,
    sqlx::Postgres,
    concat!(select_open_conversation!(), " FOR UPDATE"),
    Some("SELECT pg_advisory_xact_lock($1)")
);

/// The baseline's connection to the database the library writes to.
enum Raw {
    /// The library's pool, and a writer lock of the baseline's own: raw
    /// code on SQLite needs one writer at a time too (one transaction per
    /// send, `BEGIN IMMEDIATE`, no group commit).
    Sqlite {
        pool: SqlitePool,
        writer: Mutex<()>,
    },
    Postgres {
        pool: PgPool,
    },
}

impl Raw {
    async fn send(&self, user: &str) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite { pool, writer } => {
                let _writer = writer.lock().await;
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                raw_append_sqlite(&mut tx, user, CONTENT).await?;
                tx.commit().await
            }
            Self::Postgres { pool } => {
                let mut tx = pool.begin().await?;
                raw_append_postgres(&mut tx, user, CONTENT).await?;
                tx.commit().await
            }
        }
    }

    /// The page, then the receipts of its previews: the statements the
    /// library runs for an inbox page.
    async fn inbox_page(&self) -> Result<usize, sqlx::Error> {
        macro_rules! page {
            ($db:ty, $pool:expr) => {{
                let mut rows: Vec<RawInboxRow> = sqlx::query_as(RAW_INBOX)
                    .bind(ADMIN)
                    .bind(i64::from(PAGE + 1))
                    .fetch_all($pool)
                    .await?;
                rows.truncate(PAGE as usize);
                if !rows.is_empty() {
                    let mut sql = sqlx::QueryBuilder::<$db>::new(RAW_PREVIEW_MARKS);
                    let mut ids = sql.separated(", ");
                    for row in &rows {
                        ids.push_bind(row.conversation.id);
                    }
                    sql.push(")");
                    let _marks: Vec<RawSeenMark> = sql.build_query_as().fetch_all($pool).await?;
                }
                Ok(rows.len())
            }};
        }
        match self {
            Self::Sqlite { pool, .. } => page!(sqlx::Sqlite, pool),
            Self::Postgres { pool } => page!(sqlx::Postgres, pool),
        }
    }
}

// ---------------------------------------------------------------------------
// Sends
// ---------------------------------------------------------------------------

/// Who sends: the library's users and the baseline's, each with an open
/// conversation that an admin has answered once (so every send checks the
/// sender's seen mark, as a reply to support does).
struct SendRig {
    support: Support,
    raw: Raw,
    library_users: Vec<Principal>,
    baseline_users: Vec<String>,
}

#[derive(Clone, Copy)]
enum Contender {
    Library,
    Baseline,
}

impl SendRig {
    async fn new(support: Support, raw: Raw) -> Self {
        let senders = SENDER_COUNTS.into_iter().max().unwrap_or(1);
        let admin = Principal::admin(UserId::parse(ADMIN).expect("valid admin id"));
        let mut library_users = Vec::new();
        let mut baseline_users = Vec::new();
        for i in 0..senders * 2 {
            let name = if i < senders {
                format!("bench-library-{i}")
            } else {
                format!("bench-baseline-{}", i - senders)
            };
            let user = Principal::user(UserId::parse(name.clone()).expect("valid user id"));
            let first = support
                .send(&user, message("Hello, I need help with my invoice."))
                .await
                .expect("first send");
            let id = first.conversation.conversation.id;
            support
                .post(&admin, id, message("Sure, which invoice is it?"))
                .await
                .expect("admin reply");
            support
                .send(&user, message("The one from yesterday."))
                .await
                .expect("second send");
            if i < senders {
                library_users.push(user);
            } else {
                baseline_users.push(name);
            }
        }
        Self {
            support,
            raw,
            library_users,
            baseline_users,
        }
    }

    async fn send_one(&self, side: Contender, sender: usize) {
        match side {
            Contender::Library => {
                self.support
                    .send(&self.library_users[sender], message(CONTENT))
                    .await
                    .expect("library send");
            }
            Contender::Baseline => {
                self.raw
                    .send(&self.baseline_users[sender])
                    .await
                    .expect("baseline send");
            }
        }
    }

    /// `total` sends spread over `senders` concurrent tasks; wall time.
    async fn burst(self: &Arc<Self>, side: Contender, senders: usize, total: u64) -> Duration {
        let started = Instant::now();
        let tasks: Vec<_> = (0..senders)
            .map(|sender| {
                let rig = Arc::clone(self);
                let share =
                    total / senders as u64 + u64::from((sender as u64) < total % senders as u64);
                tokio::spawn(async move {
                    for _ in 0..share {
                        rig.send_one(side, sender).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("sender task");
        }
        started.elapsed()
    }

    /// Sends for `duration` from `senders` tasks: throughput and latencies.
    async fn timed(
        self: &Arc<Self>,
        side: Contender,
        senders: usize,
        duration: Duration,
    ) -> (f64, Vec<Duration>) {
        let started = Instant::now();
        let deadline = started + duration;
        let tasks: Vec<_> = (0..senders)
            .map(|sender| {
                let rig = Arc::clone(self);
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        rig.send_one(side, sender).await;
                        latencies.push(t.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.expect("sender task"));
        }
        let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
        (rate, latencies)
    }
}

fn message(content: &str) -> NewMessage {
    NewMessage {
        content: content.to_owned(),
        client_id: None,
    }
}

fn send_ids(backend: &str) -> Vec<String> {
    SENDER_COUNTS
        .iter()
        .flat_map(|n| {
            [
                format!("send_{backend}/library/{n}"),
                format!("send_{backend}/baseline/{n}"),
            ]
        })
        .collect()
}

fn bench_sends(
    c: &mut Criterion,
    rt: &Runtime,
    opts: &Options,
    report: &mut Report,
    backend: &str,
    rig: &Arc<SendRig>,
) {
    let mut group = c.benchmark_group(format!("send_{backend}"));
    group.throughput(Throughput::Elements(1));
    for senders in SENDER_COUNTS {
        for (name, side) in [
            ("library", Contender::Library),
            ("baseline", Contender::Baseline),
        ] {
            group.bench_function(BenchmarkId::new(name, senders), |b| {
                b.to_async(rt).iter_custom(|iters| {
                    let rig = Arc::clone(rig);
                    async move { rig.burst(side, senders, iters).await }
                });
            });
        }
    }
    group.finish();

    if !opts.selects(&send_ids(backend)) {
        return;
    }
    for senders in SENDER_COUNTS {
        let (mut lib_rates, mut base_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let (mut lib_lat, mut base_lat) = (Vec::new(), Vec::new());
        for round in 0..opts.rounds() {
            // Alternate which side goes first, so drift hits both alike.
            let order = if round.is_multiple_of(2) {
                [Contender::Library, Contender::Baseline]
            } else {
                [Contender::Baseline, Contender::Library]
            };
            let mut rates = [0.0; 2];
            for side in order {
                let (rate, latencies) = rt.block_on(rig.timed(side, senders, opts.round_time()));
                match side {
                    Contender::Library => {
                        rates[0] = rate;
                        lib_lat.extend(latencies);
                    }
                    Contender::Baseline => {
                        rates[1] = rate;
                        base_lat.extend(latencies);
                    }
                }
            }
            lib_rates.push(rates[0]);
            base_rates.push(rates[1]);
            ratios.push(rates[0] / rates[1]);
        }
        let library = Measured::from_samples(lib_lat, median(&mut lib_rates));
        let baseline = Measured::from_samples(base_lat, median(&mut base_rates));
        let ratio = median(&mut ratios);
        // `median` sorted them.
        let (lowest, highest) = (ratios[0], ratios[ratios.len() - 1]);
        report.sends.push(format!(
            "| {backend} | {senders} | {:.0} | {:.0} | {ratio:.2}x ({lowest:.2}-{highest:.2}) \
             | {} / {} | {} / {} |\n",
            library.ops_per_sec,
            baseline.ops_per_sec,
            ms(library.p50),
            ms(library.p99),
            ms(baseline.p50),
            ms(baseline.p99),
        ));
        report.targets.push(format!(
            "send {backend}, {senders} sender(s): library/baseline {ratio:.2}x (target >= 0.70x): {}",
            verdict(ratio >= 0.7)
        ));
    }
}

// ---------------------------------------------------------------------------
// Inbox
// ---------------------------------------------------------------------------

struct InboxRig {
    label: &'static str,
    support: Support,
    admin: Principal,
    raw: Raw,
}

impl InboxRig {
    fn new(label: &'static str, support: Support, raw: Raw) -> Self {
        Self {
            label,
            support,
            admin: Principal::admin(UserId::parse(ADMIN).expect("valid admin id")),
            raw,
        }
    }

    async fn library_page(&self) -> usize {
        let page = self
            .support
            .conversations(
                &self.admin,
                InboxRequest {
                    limit: Some(PAGE),
                    ..InboxRequest::default()
                },
            )
            .await
            .expect("inbox page");
        page.items.len()
    }

    async fn baseline_page(&self) -> usize {
        self.raw.inbox_page().await.expect("raw inbox page")
    }
}

fn inbox_ids(backend: &str, opts: &Options) -> Vec<String> {
    opts.datasets()
        .iter()
        .flat_map(|(label, _, _)| {
            [
                format!("inbox_{backend}/library/{label}"),
                format!("inbox_{backend}/baseline/{label}"),
            ]
        })
        .collect()
}

fn bench_inbox(
    c: &mut Criterion,
    rt: &Runtime,
    opts: &Options,
    report: &mut Report,
    backend: &str,
    rigs: &[InboxRig],
) {
    let mut group = c.benchmark_group(format!("inbox_{backend}"));
    for rig in rigs {
        assert_eq!(rt.block_on(rig.library_page()), PAGE as usize);
        assert_eq!(rt.block_on(rig.baseline_page()), PAGE as usize);
        group.bench_function(BenchmarkId::new("library", rig.label), |b| {
            b.to_async(rt).iter(|| rig.library_page());
        });
        group.bench_function(BenchmarkId::new("baseline", rig.label), |b| {
            b.to_async(rt).iter(|| rig.baseline_page());
        });
    }
    group.finish();

    if !opts.selects(&inbox_ids(backend, opts)) {
        return;
    }
    let budget = opts.round_time() * opts.rounds() as u32;
    let mut p50s = Vec::new();
    for rig in rigs {
        let (mut lib, mut base) = (Vec::new(), Vec::new());
        let started = Instant::now();
        let mut i = 0_u64;
        while started.elapsed() < budget {
            // Alternate which goes first.
            let even = i.is_multiple_of(2);
            for library_first in [even, !even] {
                let t = Instant::now();
                if library_first {
                    rt.block_on(rig.library_page());
                    lib.push(t.elapsed());
                } else {
                    rt.block_on(rig.baseline_page());
                    base.push(t.elapsed());
                }
            }
            i += 1;
        }
        let library = Measured::from_samples(lib, 0.0);
        let baseline = Measured::from_samples(base, 0.0);
        let speed = baseline.p50.as_secs_f64() / library.p50.as_secs_f64();
        report.inbox.push(format!(
            "| {backend} | {} | {} / {} | {} / {} | {speed:.2}x |\n",
            rig.label,
            ms(library.p50),
            ms(library.p99),
            ms(baseline.p50),
            ms(baseline.p99),
        ));
        if backend == "sqlite" {
            report.targets.push(format!(
                "inbox {backend} {}: library p50 {} (target < 10 ms): {}",
                rig.label,
                ms(library.p50),
                verdict(library.p50 < Duration::from_millis(10))
            ));
        }
        p50s.push((rig.label, library.p50));
        if let Raw::Postgres { pool } = &rig.raw {
            let (bound, literal) = rt
                .block_on(probe_limit_parameter(pool, opts.round_time() * 2))
                .expect("limit probe");
            report.notes.push(format!(
                "postgres {}: the page query alone, p50 {} with `LIMIT $2` (as the library \
                 binds it) vs {} with `LIMIT 51` written into the SQL",
                rig.label,
                ms(bound),
                ms(literal)
            ));
        }
    }
    if let [(small, small_p50), (large, large_p50)] = p50s[..] {
        let growth = large_p50.as_secs_f64() / small_p50.as_secs_f64();
        report.targets.push(format!(
            "inbox {backend}: p50 at {large} is {growth:.2}x the p50 at {small} (target <= 2x): {}",
            verdict(growth <= 2.0)
        ));
    }
}

/// PostgreSQL re-plans a prepared statement on every call while its generic
/// plan looks costlier than the custom ones, and with `LIMIT $n` the generic
/// plan assumes a tenth of the table is fetched. Times the page query alone,
/// alternating the limit as a parameter and written into the SQL: p50s.
async fn probe_limit_parameter(
    pool: &PgPool,
    budget: Duration,
) -> Result<(Duration, Duration), sqlx::Error> {
    let (mut bound, mut literal) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let mut i = 0_u64;
    while started.elapsed() < budget {
        let even = i.is_multiple_of(2);
        for bound_first in [even, !even] {
            let t = Instant::now();
            if bound_first {
                let _rows: Vec<RawInboxRow> = sqlx::query_as(RAW_INBOX)
                    .bind(ADMIN)
                    .bind(i64::from(PAGE + 1))
                    .fetch_all(pool)
                    .await?;
                bound.push(t.elapsed());
            } else {
                let _rows: Vec<RawInboxRow> = sqlx::query_as(RAW_INBOX_LITERAL_LIMIT)
                    .bind(ADMIN)
                    .fetch_all(pool)
                    .await?;
                literal.push(t.elapsed());
            }
        }
        i += 1;
    }
    bound.sort_unstable();
    literal.sort_unstable();
    Ok((percentile(&bound, 0.5), percentile(&literal, 0.5)))
}

// ---------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------

fn sqlite_url(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

fn remove_sqlite_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", ".fingerprint"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(file));
    }
}

/// The SQLite inbox data set for `plan`, from the cache or freshly seeded.
async fn sqlite_dataset(plan: &seed::Plan) -> SqliteStorage {
    let dir = bench_data_dir();
    std::fs::create_dir_all(&dir).expect("create bench-data");
    let path = dir.join(format!(
        "inbox-{}x{}.sqlite",
        plan.conversations, plan.messages
    ));
    let marker = PathBuf::from(format!("{}.fingerprint", path.display()));
    let fingerprint = plan.fingerprint();
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(fingerprint.as_str()) {
        match SqliteStorage::connect(&sqlite_url(&path)).await {
            Ok(storage) => {
                eprintln!("using cached {} ({fingerprint})", path.display());
                return storage;
            }
            Err(e) => eprintln!("cached {} is unusable ({e}); rebuilding", path.display()),
        }
    }
    remove_sqlite_files(&path);
    let storage = SqliteStorage::connect(&sqlite_url(&path))
        .await
        .expect("open SQLite data set");
    eprintln!(
        "seeding {} ({fingerprint}); cached for later runs",
        path.display()
    );
    let seeded = seed::seed_sqlite(&storage, plan, true)
        .await
        .expect("seed SQLite");
    eprintln!(
        "seeded {} messages in {:.1?}",
        seeded.messages, seeded.elapsed
    );
    let inconsistent = seed::inconsistencies_sqlite(&storage)
        .await
        .expect("verify SQLite data set");
    assert_eq!(inconsistent, 0, "seeded counters disagree with messages");
    std::fs::write(&marker, fingerprint).expect("write fingerprint");
    storage
}

/// The PostgreSQL inbox data set for `plan`, in a schema of its own,
/// reused when a previous run left it complete (its comment holds the
/// seed's fingerprint).
async fn postgres_dataset(url: &str, plan: &seed::Plan) -> PostgresStorage {
    let schema = format!("bench_inbox_{}_{}", plan.conversations, plan.messages);
    let fingerprint = plan.fingerprint();
    let mut admin = PgConnection::connect(url)
        .await
        .expect("connect PostgreSQL");
    let comment: Option<Option<String>> = sqlx::query_scalar(
        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1",
    )
    .bind(&schema)
    .fetch_optional(&mut admin)
    .await
    .expect("look up cached schema");
    if comment.flatten().as_deref() == Some(fingerprint.as_str()) {
        eprintln!("using cached PostgreSQL schema {schema} ({fingerprint})");
        admin.close().await.ok();
        return seed::postgres_on_schema(url, &schema)
            .await
            .expect("open cached schema");
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut admin)
    .await
    .expect("drop stale schema");
    let storage = seed::postgres_on_schema(url, &schema)
        .await
        .expect("create schema");
    eprintln!("seeding PostgreSQL schema {schema} ({fingerprint})");
    let seeded = seed::seed_postgres(&storage, plan, true)
        .await
        .expect("seed PostgreSQL");
    eprintln!(
        "seeded {} messages in {:.1?}",
        seeded.messages, seeded.elapsed
    );
    let inconsistent = seed::inconsistencies_postgres(&storage)
        .await
        .expect("verify PostgreSQL data set");
    assert_eq!(inconsistent, 0, "seeded counters disagree with messages");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "COMMENT ON SCHEMA {schema} IS '{}'",
        fingerprint.replace('\'', "''")
    )))
    .execute(&mut admin)
    .await
    .expect("mark schema complete");
    admin.close().await.ok();
    storage
}

/// A fresh SQLite file for the send benchmarks (on disk, beside the
/// cached data sets), removed when dropped.
struct SendFile(PathBuf);

impl SendFile {
    fn new() -> Self {
        let dir = bench_data_dir();
        std::fs::create_dir_all(&dir).expect("create bench-data");
        let path = dir.join(format!("send-{}.sqlite", std::process::id()));
        remove_sqlite_files(&path);
        Self(path)
    }
}

impl Drop for SendFile {
    fn drop(&mut self) {
        remove_sqlite_files(&self.0);
    }
}

fn postgres_url(opts: &Options) -> Option<String> {
    let url = if opts.skip_postgres {
        None
    } else {
        std::panic::catch_unwind(support_test_harness::postgres_url)
            .ok()
            .flatten()
    };
    if url.is_none() {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPING THE POSTGRESQL BENCHMARKS: no DATABASE_URL, no server\n\
             !!! binaries, or SUPPORT_SKIP_POSTGRES=1. Only SQLite was measured.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
    }
    url
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

fn sqlite_groups(c: &mut Criterion, rt: &Runtime, opts: &Options, report: &mut Report) {
    if opts.selects(&send_ids("sqlite")) {
        let file = SendFile::new();
        let storage = rt
            .block_on(SqliteStorage::connect(&sqlite_url(&file.0)))
            .expect("open SQLite file");
        let raw = Raw::Sqlite {
            pool: storage.pool().clone(),
            writer: Mutex::new(()),
        };
        let rig = Arc::new(rt.block_on(SendRig::new(Support::new(Arc::new(storage)), raw)));
        bench_sends(c, rt, opts, report, "sqlite", &rig);
        drop(rig);
    }
    if opts.selects(&inbox_ids("sqlite", opts)) {
        let rigs: Vec<InboxRig> = opts
            .datasets()
            .into_iter()
            .map(|(label, conversations, messages)| {
                let plan = seed::Plan::new(conversations, messages);
                let storage = rt.block_on(sqlite_dataset(&plan));
                let raw = Raw::Sqlite {
                    pool: storage.pool().clone(),
                    writer: Mutex::new(()),
                };
                InboxRig::new(label, Support::new(Arc::new(storage)), raw)
            })
            .collect();
        bench_inbox(c, rt, opts, report, "sqlite", &rigs);
    }
}

fn postgres_groups(c: &mut Criterion, rt: &Runtime, opts: &Options, report: &mut Report) {
    let wanted = opts.selects(&send_ids("postgres")) || opts.selects(&inbox_ids("postgres", opts));
    if !wanted {
        return;
    }
    let Some(url) = postgres_url(opts) else {
        report
            .notes
            .push("PostgreSQL benchmarks SKIPPED (no server available).".to_owned());
        return;
    };
    if opts.selects(&send_ids("postgres")) {
        let pool = rt
            .block_on(support_test_harness::postgres_pool())
            .expect("PostgreSQL pool");
        let storage = PostgresStorage::new(pool.clone());
        rt.block_on(storage.migrate()).expect("migrate PostgreSQL");
        let rig = Arc::new(rt.block_on(SendRig::new(
            Support::new(Arc::new(storage)),
            Raw::Postgres { pool },
        )));
        bench_sends(c, rt, opts, report, "postgres", &rig);
    }
    if opts.selects(&inbox_ids("postgres", opts)) {
        let rigs: Vec<InboxRig> = opts
            .datasets()
            .into_iter()
            .map(|(label, conversations, messages)| {
                let plan = seed::Plan::new(conversations, messages);
                let storage = rt.block_on(postgres_dataset(&url, &plan));
                let raw = Raw::Postgres {
                    pool: storage.pool().clone(),
                };
                InboxRig::new(label, Support::new(Arc::new(storage)), raw)
            })
            .collect();
        bench_inbox(c, rt, opts, report, "postgres", &rigs);
    }
}

fn main() {
    let opts = Options::from_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .without_plots()
        .configure_from_args();
    let mut report = Report::default();

    sqlite_groups(&mut c, &rt, &opts, &mut report);
    postgres_groups(&mut c, &rt, &opts, &mut report);
    c.final_summary();

    let rendered = report.render();
    println!("\n{rendered}");
    if opts.quick {
        return;
    }
    let path = bench_data_dir().join("summary.md");
    match std::fs::write(&path, &rendered) {
        Ok(()) => println!("(written to {})", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
}
