//! Seeds a support database with a large, realistic data set, fast.
//!
//! ```text
//! cargo run --release -p support-sqlx --example seed -- \
//!     --url sqlite:bench-data/inbox.db --conversations 100000 --messages 1000000
//! cargo run --release -p support-sqlx --example seed -- \
//!     --url postgres://postgres@127.0.0.1:5432/postgres --schema bench \
//!     --conversations 100000 --messages 1000000
//! ```
//!
//! The database is opened (and migrated) through the storage itself
//! (`SqliteStorage::connect`, `PostgresStorage::migrate`), then filled with
//! multi-row `INSERT`s in large transactions, bypassing the service: one
//! round trip per thousand rows instead of several per message. The rows are
//! what the service would have written:
//!
//! - users own one or two conversations each; at most one of them is open
//!   (the newest), the others are closed, with a `support_closures` row;
//! - messages have `seq` 1..n, start with the user, then alternate in runs
//!   between the user and one admin; many user messages carry a `client_id`;
//! - the conversation counters (`message_count`, `user_message_count`,
//!   `admin_message_count`, `last_message_from_admin`,
//!   `first_admin_reply_at`, `last_message_at`) agree with the messages;
//! - seen marks are those the service writes (whoever writes has seen what
//!   they answer), plus some explicit "read but not answered" marks;
//! - timestamps are microseconds, spread over the year before `--end`.
//!
//! The event log is left empty, as after pruning: the inbox never reads it.
//! The data set is a pure function of the sizes and `--seed`, apart from
//! `--end`. After loading, a consistency query checks every counter
//! against the messages.
//!
//! The benchmarks (`benches/storage.rs`) include this file as a module and
//! call [`seed_sqlite`] and [`seed_postgres`] directly.

use std::str::FromStr;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, QueryBuilder};
use support_sqlx::{PostgresStorage, SqliteStorage};
use uuid::Uuid;

/// Bump when the generated data changes, so cached data sets are rebuilt.
pub(crate) const DATASET_VERSION: u32 = 1;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
const MICROS_PER_DAY: i64 = 24 * 60 * MICROS_PER_MINUTE;

/// Conversations generated and committed per transaction.
const CONVERSATIONS_PER_TRANSACTION: usize = 5_000;
/// Rows per multi-row `INSERT` (columns times rows stays far below both
/// dialects' bind-parameter limits: 32766 on SQLite, 65535 on PostgreSQL).
const ROWS_PER_INSERT: usize = 1_000;

/// What to generate.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Number of conversations.
    pub(crate) conversations: u64,
    /// Number of messages in total (at least one per conversation).
    pub(crate) messages: u64,
    /// Number of admins (`admin-01`, `admin-02`, ...).
    pub(crate) admins: u32,
    /// Seed of the pseudo-random generator.
    pub(crate) seed: u64,
    /// The newest timestamp, microseconds since the epoch.
    pub(crate) end_micros: i64,
}

impl Plan {
    /// The default shape for `conversations` and `messages`, ending now.
    pub(crate) fn new(conversations: u64, messages: u64) -> Self {
        let now = chrono::Utc::now().timestamp_micros();
        Self {
            conversations,
            messages,
            admins: 8,
            seed: 1,
            end_micros: now - now % MICROS_PER_MINUTE,
        }
    }

    /// Identifies the generated data (apart from `end_micros`): a cached
    /// data set with another fingerprint must be rebuilt.
    pub(crate) fn fingerprint(&self) -> String {
        format!(
            "support-seed v{DATASET_VERSION}: {} conversations, {} messages, {} admins, seed {}",
            self.conversations, self.messages, self.admins, self.seed
        )
    }

    fn validate(&self) -> Result<(), SeedError> {
        if self.conversations == 0 || self.messages < self.conversations {
            return Err(SeedError::Plan(
                "need at least one conversation and one message per conversation",
            ));
        }
        if self.admins == 0 || self.admins > 99 {
            return Err(SeedError::Plan("admins must be 1 to 99"));
        }
        Ok(())
    }
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SeedError {
    /// The arguments do not describe a data set.
    #[error("invalid plan: {0}")]
    Plan(&'static str),
    /// The target already holds conversations.
    #[error("the database already holds {0} conversations; seed a fresh database or schema")]
    NotEmpty(i64),
    /// The database refused a statement.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Opening or migrating the database failed.
    #[error("cannot open the database")]
    Setup(#[from] support_sqlx::SetupError),
}

/// What was written, and how long it took.
#[derive(Clone, Debug, Default)]
pub(crate) struct Seeded {
    /// Conversations inserted.
    pub(crate) conversations: u64,
    /// Messages inserted.
    pub(crate) messages: u64,
    /// Seen marks inserted.
    pub(crate) seen_marks: u64,
    /// Closures inserted (one per closed conversation).
    pub(crate) closures: u64,
    /// Wall time of the load (generation and inserts, not verification).
    pub(crate) elapsed: Duration,
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

/// SplitMix64: tiny, fast, and good enough for test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut rng = Self(seed);
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponentially distributed with the given mean.
    fn exponential(&mut self, mean: f64) -> f64 {
        -(1.0 - self.unit()).ln() * mean
    }

    /// A UUIDv7 for a moment, with pseudo-random low bits.
    fn uuid_v7(&mut self, at_micros: i64) -> Uuid {
        let mut random = [0_u8; 10];
        random[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        random[8..].copy_from_slice(&self.next_u64().to_le_bytes()[..2]);
        let millis = u64::try_from(at_micros / 1_000).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }
}

/// Vocabulary of the generated messages, separated by spaces.
const WORDS: &str = "invoice payment account password login order refund delivery package address \
     subscription plan upgrade error page button email phone app update card charge \
     twice yesterday today still again please help thanks working broken missing \
     wrong number export report settings team invite access data sync slow crash \
     screen download upload file receipt tax discount code trial cancel renewal \
     shipping tracking warehouse support";

/// Sentence openers, separated by `|`.
const OPENERS: &str = "Hi,|Hello,|Hey team,|Thanks!|Sorry,|Quick question:|Update:|Good morning,|\
     One more thing:|Ok,";

/// The words messages are made of.
struct Vocabulary {
    words: Vec<&'static str>,
    openers: Vec<&'static str>,
}

impl Vocabulary {
    fn new() -> Self {
        Self {
            words: WORDS.split(' ').collect(),
            openers: OPENERS.split('|').collect(),
        }
    }

    fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
        items[rng.below(items.len() as u64) as usize]
    }

    fn sentence(&self, rng: &mut Rng, out: &mut String) {
        let words = 3 + rng.below(14);
        for i in 0..words {
            let word = Self::pick(rng, &self.words);
            if i == 0 {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    out.extend(first.to_uppercase());
                    out.push_str(chars.as_str());
                }
            } else {
                out.push(' ');
                out.push_str(word);
            }
        }
        out.push(if rng.chance(0.3) { '?' } else { '.' });
    }

    /// Support-desk text of one to four sentences (about 100 characters).
    fn content(&self, rng: &mut Rng) -> String {
        let mut out = String::with_capacity(160);
        if rng.chance(0.4) {
            out.push_str(Self::pick(rng, &self.openers));
            out.push(' ');
        }
        let sentences = 1 + rng.below(3) + u64::from(rng.chance(0.1));
        for i in 0..sentences {
            if i > 0 {
                out.push(' ');
            }
            self.sentence(rng, &mut out);
        }
        out
    }
}

/// Messages per conversation: exponentially distributed around the mean
/// (many short threads, a few long ones), adjusted to the exact total.
fn message_counts(plan: &Plan) -> Vec<u32> {
    let n = plan.conversations as usize;
    let mean_extra = (plan.messages as f64 / plan.conversations as f64 - 1.0).max(0.0);
    let mut rng = Rng::new(plan.seed ^ 0xC0FF_EE00_D15E_A5E5);
    let mut counts: Vec<u32> = (0..n)
        .map(|_| {
            let extra = rng
                .exponential(mean_extra)
                .round()
                .min(f64::from(u32::MAX - 1));
            1 + extra as u32
        })
        .collect();
    let mut total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    while total != plan.messages {
        let i = rng.below(n as u64) as usize;
        if total < plan.messages {
            counts[i] += 1;
            total += 1;
        } else if counts[i] > 1 {
            counts[i] -= 1;
            total -= 1;
        }
    }
    counts
}

struct ConversationRow {
    id: Uuid,
    user_id: String,
    closed: bool,
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

struct MessageRow {
    id: Uuid,
    conversation_id: Uuid,
    seq: i64,
    user_id: String,
    content: String,
    is_admin_message: bool,
    client_id: Option<String>,
    created_at: i64,
}

struct SeenMarkRow {
    conversation_id: Uuid,
    reader_id: String,
    reader_is_admin: bool,
    up_to: Uuid,
    up_to_seq: i64,
    seen_count: i64,
    seen_at: i64,
}

struct ClosureRow {
    conversation_id: Uuid,
    closed_by: String,
    closed_at: i64,
}

/// The rows of a run of consecutive conversations.
#[derive(Default)]
struct Chunk {
    conversations: Vec<ConversationRow>,
    messages: Vec<MessageRow>,
    seen_marks: Vec<SeenMarkRow>,
    closures: Vec<ClosureRow>,
}

/// Lays the conversations out in time and generates them chunk by chunk.
struct Generator {
    plan: Plan,
    vocabulary: Vocabulary,
    counts: Vec<u32>,
    users: u64,
    start: i64,
    slot: f64,
    mean_gap: f64,
    max_delay: f64,
}

impl Generator {
    fn new(plan: &Plan) -> Self {
        let counts = message_counts(plan);
        let n = plan.conversations;
        // 60% as many users as conversations: the first 40% of the users
        // have two conversations, the rest one.
        let users = (n * 3).div_ceil(5).max(1);
        let span = 365 * MICROS_PER_DAY;
        let slot = span as f64 / n as f64;
        // A user's two conversations are `users` slots apart; keep each
        // conversation (and its closing) within a quarter of that.
        let room = 0.25 * users as f64 * slot;
        let longest = f64::from(counts.iter().copied().max().unwrap_or(1));
        let mean_gap = (40.0 * MICROS_PER_MINUTE as f64).min(room / (3.0 * longest));
        Self {
            plan: plan.clone(),
            vocabulary: Vocabulary::new(),
            counts,
            users,
            start: plan.end_micros - span,
            slot,
            mean_gap: mean_gap.max(1.0),
            max_delay: room.max(1.0),
        }
    }

    fn chunk(&self, range: std::ops::Range<u64>) -> Chunk {
        let mut chunk = Chunk::default();
        for i in range {
            self.conversation(i, &mut chunk);
        }
        chunk
    }

    fn conversation(&self, i: u64, chunk: &mut Chunk) {
        let mut rng = Rng::new(
            self.plan
                .seed
                .wrapping_mul(0x2545_F491_4F6C_DD1D)
                .wrapping_add(i),
        );
        let n = i64::from(self.counts[i as usize]);
        let user = format!("user-{:06}", i % self.users);
        let admin = format!("admin-{:02}", 1 + rng.below(u64::from(self.plan.admins)));
        let newest_of_user = i + self.users >= self.plan.conversations;

        // Message times, walking back from the last one.
        let last_at = self.start + ((i as f64 + 0.2 + 0.6 * rng.unit()) * self.slot) as i64
            - MICROS_PER_MINUTE;
        let mut times = vec![last_at; n as usize];
        for k in (0..times.len().saturating_sub(1)).rev() {
            let gap = (5 * MICROS_PER_SECOND) as f64 + rng.exponential(self.mean_gap);
            times[k] = times[k + 1] - gap as i64;
        }
        let created_at = times[0];
        let id = rng.uuid_v7(created_at);

        // Who writes: the user first, then runs of either side.
        let mut admin_side = false;
        let mut user_count = 0_i64;
        let mut admin_count = 0_i64;
        let mut first_admin_reply_at = None;
        let mut user_mark = 0_i64;
        let mut admin_mark = 0_i64;
        let mut last_message_id = id;
        for (k, &at) in times.iter().enumerate() {
            let seq = k as i64 + 1;
            if k > 0 && rng.chance(0.55) {
                admin_side = !admin_side;
            }
            let message_id = rng.uuid_v7(at);
            let author = if admin_side { &admin } else { &user };
            let client_id = (!admin_side && rng.chance(0.6)).then(|| format!("web-{i:x}-{seq}"));
            chunk.messages.push(MessageRow {
                id: message_id,
                conversation_id: id,
                seq,
                user_id: author.clone(),
                content: self.vocabulary.content(&mut rng),
                is_admin_message: admin_side,
                client_id,
                created_at: at,
            });
            // Whoever writes has seen what they answer.
            let (covered, mark) = if admin_side {
                admin_count += 1;
                first_admin_reply_at.get_or_insert(at);
                (user_count, &mut admin_mark)
            } else {
                user_count += 1;
                (admin_count, &mut user_mark)
            };
            if covered > *mark {
                *mark = covered;
                chunk.seen_marks.push(SeenMarkRow {
                    conversation_id: id,
                    reader_id: author.clone(),
                    reader_is_admin: admin_side,
                    up_to: message_id,
                    up_to_seq: seq,
                    seen_count: covered,
                    seen_at: at,
                });
            }
            last_message_id = message_id;
        }

        // Read, not answered (yet): the other side's explicit mark.
        let (reader, reader_is_admin, covered, already) = if admin_side {
            (&user, false, admin_count, user_mark)
        } else {
            (&admin, true, user_count, admin_mark)
        };
        if covered > already && rng.chance(0.4) {
            chunk.seen_marks.push(SeenMarkRow {
                conversation_id: id,
                reader_id: reader.clone(),
                reader_is_admin,
                up_to: last_message_id,
                up_to_seq: n,
                seen_count: covered,
                seen_at: last_at + 1 + rng.below(MICROS_PER_DAY as u64 / 24) as i64,
            });
        }

        let delay = (10 * MICROS_PER_MINUTE) as f64 + rng.exponential((2 * 60) as f64 * 60e6);
        let closed_at = last_at + delay.min(self.max_delay) as i64;
        let closed = !newest_of_user || (closed_at <= self.plan.end_micros && rng.chance(0.5));
        let closed_at = closed.then_some(closed_at);
        if let Some(closed_at) = closed_at {
            chunk.closures.push(ClosureRow {
                conversation_id: id,
                closed_by: admin.clone(),
                closed_at,
            });
        }
        chunk.conversations.push(ConversationRow {
            id,
            user_id: user,
            closed,
            created_at,
            updated_at: closed_at.unwrap_or(last_at),
            last_message_at: last_at,
            closed_at,
            message_count: n,
            user_message_count: user_count,
            admin_message_count: admin_count,
            last_message_from_admin: admin_side,
            first_admin_reply_at,
        });
    }
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

/// `insert_chunk` for one database type: multi-row `INSERT`s in the order
/// the foreign keys need.
macro_rules! insert_chunk {
    ($name:ident, $db:ty) => {
        async fn $name(
            conn: &mut <$db as sqlx::Database>::Connection,
            chunk: &Chunk,
        ) -> Result<(), sqlx::Error> {
            for rows in chunk.conversations.chunks(ROWS_PER_INSERT) {
                QueryBuilder::<$db>::new(
                    "INSERT INTO support_conversations (id, user_id, status, created_at, \
                     updated_at, last_message_at, closed_at, message_count, user_message_count, \
                     admin_message_count, last_message_from_admin, first_admin_reply_at) ",
                )
                .push_values(rows, |mut row, c| {
                    row.push_bind(c.id)
                        .push_bind(c.user_id.as_str())
                        .push_bind(if c.closed { "closed" } else { "open" })
                        .push_bind(c.created_at)
                        .push_bind(c.updated_at)
                        .push_bind(c.last_message_at)
                        .push_bind(c.closed_at)
                        .push_bind(c.message_count)
                        .push_bind(c.user_message_count)
                        .push_bind(c.admin_message_count)
                        .push_bind(c.last_message_from_admin)
                        .push_bind(c.first_admin_reply_at);
                })
                .build()
                .execute(&mut *conn)
                .await?;
            }
            for rows in chunk.messages.chunks(ROWS_PER_INSERT) {
                QueryBuilder::<$db>::new(
                    "INSERT INTO support_messages (id, conversation_id, seq, user_id, content, \
                     is_admin_message, client_id, created_at, updated_at) ",
                )
                .push_values(rows, |mut row, m| {
                    row.push_bind(m.id)
                        .push_bind(m.conversation_id)
                        .push_bind(m.seq)
                        .push_bind(m.user_id.as_str())
                        .push_bind(m.content.as_str())
                        .push_bind(m.is_admin_message)
                        .push_bind(m.client_id.as_deref())
                        .push_bind(m.created_at)
                        .push_bind(m.created_at);
                })
                .build()
                .execute(&mut *conn)
                .await?;
            }
            for rows in chunk.seen_marks.chunks(ROWS_PER_INSERT) {
                QueryBuilder::<$db>::new(
                    "INSERT INTO support_seen_marks (conversation_id, reader_id, reader_role, \
                     up_to, up_to_seq, seen_count, seen_at) ",
                )
                .push_values(rows, |mut row, s| {
                    row.push_bind(s.conversation_id)
                        .push_bind(s.reader_id.as_str())
                        .push_bind(if s.reader_is_admin { "admin" } else { "user" })
                        .push_bind(s.up_to)
                        .push_bind(s.up_to_seq)
                        .push_bind(s.seen_count)
                        .push_bind(s.seen_at);
                })
                .build()
                .execute(&mut *conn)
                .await?;
            }
            for rows in chunk.closures.chunks(ROWS_PER_INSERT) {
                QueryBuilder::<$db>::new(
                    "INSERT INTO support_closures (conversation_id, closed_by, closed_at) ",
                )
                .push_values(rows, |mut row, k| {
                    row.push_bind(k.conversation_id)
                        .push_bind(k.closed_by.as_str())
                        .push_bind(k.closed_at);
                })
                .build()
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        }
    };
}

insert_chunk!(insert_chunk_sqlite, sqlx::Sqlite);
insert_chunk!(insert_chunk_postgres, sqlx::Postgres);

const COUNT_CONVERSATIONS: &str = "SELECT COUNT(*) FROM support_conversations";

/// Conversations whose counters disagree with their messages, without
/// messages, or closed without a closure (shared SQL, both dialects; the
/// join walks the `(conversation_id, seq)` index in conversation order).
const INCONSISTENT: &str = "SELECT \
     (SELECT COUNT(*) FROM (SELECT c.id FROM support_conversations c \
      JOIN support_messages m ON m.conversation_id = c.id \
      GROUP BY c.id \
      HAVING c.message_count <> COUNT(*) OR MIN(m.seq) <> 1 OR MAX(m.seq) <> COUNT(*) \
         OR c.admin_message_count <> SUM(CASE WHEN m.is_admin_message THEN 1 ELSE 0 END) \
         OR c.user_message_count <> SUM(CASE WHEN m.is_admin_message THEN 0 ELSE 1 END) \
         OR c.last_message_at <> MAX(m.created_at) \
         OR COALESCE(c.first_admin_reply_at, -1) \
            <> COALESCE(MIN(CASE WHEN m.is_admin_message THEN m.created_at END), -1) \
         OR SUM(CASE WHEN m.seq = c.message_count AND m.is_admin_message THEN 1 ELSE 0 END) \
            <> CASE WHEN c.last_message_from_admin THEN 1 ELSE 0 END) bad) \
   + (SELECT COUNT(*) FROM support_conversations c WHERE NOT EXISTS \
      (SELECT 1 FROM support_messages m WHERE m.conversation_id = c.id)) \
   + (SELECT COUNT(*) FROM support_conversations WHERE status = 'closed') \
   - (SELECT COUNT(DISTINCT k.conversation_id) FROM support_closures k \
      JOIN support_conversations c ON c.id = k.conversation_id WHERE c.status = 'closed')";

fn progress_bar(plan: &Plan, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(plan.messages);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>12} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} messages ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_message("seeding");
    bar
}

/// Loads `plan` into a migrated SQLite database. Refuses a database that
/// already holds conversations.
pub(crate) async fn seed_sqlite(
    storage: &SqliteStorage,
    plan: &Plan,
    show_progress: bool,
) -> Result<Seeded, SeedError> {
    plan.validate()?;
    let started = Instant::now();
    let mut conn = storage.pool().acquire().await?;
    let existing: i64 = sqlx::query_scalar(COUNT_CONVERSATIONS)
        .fetch_one(&mut *conn)
        .await?;
    if existing > 0 {
        return Err(SeedError::NotEmpty(existing));
    }
    // A bigger page cache for this connection only: the indexes of a
    // million rows do not fit the 2 MB default.
    sqlx::query("PRAGMA cache_size = -262144")
        .execute(&mut *conn)
        .await?;
    let generator = Generator::new(plan);
    let bar = progress_bar(plan, show_progress);
    let mut seeded = Seeded::default();
    let mut from = 0;
    while from < plan.conversations {
        let to = (from + CONVERSATIONS_PER_TRANSACTION as u64).min(plan.conversations);
        let chunk = generator.chunk(from..to);
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        insert_chunk_sqlite(&mut tx, &chunk).await?;
        tx.commit().await?;
        seeded.add(&chunk);
        bar.inc(chunk.messages.len() as u64);
        from = to;
    }
    sqlx::query("PRAGMA cache_size = -2000")
        .execute(&mut *conn)
        .await?;
    // Fold the WAL back into the database file, as a long-running host's
    // checkpoints would have.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut *conn)
        .await?;
    seeded.elapsed = started.elapsed();
    bar.finish_with_message("seeded");
    Ok(seeded)
}

/// Loads `plan` into a migrated PostgreSQL database (the pool's
/// `search_path` picks the schema), then runs `VACUUM (ANALYZE)` on the
/// tables, as autovacuum would soon after a bulk load (doing it now keeps
/// autovacuum from competing with whatever runs next). Refuses a schema
/// that already holds conversations.
pub(crate) async fn seed_postgres(
    storage: &PostgresStorage,
    plan: &Plan,
    show_progress: bool,
) -> Result<Seeded, SeedError> {
    plan.validate()?;
    let started = Instant::now();
    let mut conn = storage.pool().acquire().await?;
    let existing: i64 = sqlx::query_scalar(COUNT_CONVERSATIONS)
        .fetch_one(&mut *conn)
        .await?;
    if existing > 0 {
        return Err(SeedError::NotEmpty(existing));
    }
    let generator = Generator::new(plan);
    let bar = progress_bar(plan, show_progress);
    let mut seeded = Seeded::default();
    let mut from = 0;
    while from < plan.conversations {
        let to = (from + CONVERSATIONS_PER_TRANSACTION as u64).min(plan.conversations);
        let chunk = generator.chunk(from..to);
        let mut tx = conn.begin().await?;
        insert_chunk_postgres(&mut tx, &chunk).await?;
        tx.commit().await?;
        seeded.add(&chunk);
        bar.inc(chunk.messages.len() as u64);
        from = to;
    }
    bar.set_message("vacuuming");
    sqlx::query(
        "VACUUM (ANALYZE) support_conversations, support_messages, support_seen_marks, \
         support_closures",
    )
    .execute(&mut *conn)
    .await?;
    seeded.elapsed = started.elapsed();
    bar.finish_with_message("seeded");
    Ok(seeded)
}

impl Seeded {
    fn add(&mut self, chunk: &Chunk) {
        self.conversations += chunk.conversations.len() as u64;
        self.messages += chunk.messages.len() as u64;
        self.seen_marks += chunk.seen_marks.len() as u64;
        self.closures += chunk.closures.len() as u64;
    }
}

/// Counts conversations whose stored counters disagree with their
/// messages (or that are closed without a closure row). Zero when sound.
pub(crate) async fn inconsistencies_sqlite(storage: &SqliteStorage) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(INCONSISTENT)
        .fetch_one(storage.pool())
        .await
}

/// [`inconsistencies_sqlite`] on PostgreSQL.
pub(crate) async fn inconsistencies_postgres(
    storage: &PostgresStorage,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(INCONSISTENT)
        .fetch_one(storage.pool())
        .await
}

/// Opens PostgreSQL at `url` on `schema` (created if missing) and migrates.
pub(crate) async fn postgres_on_schema(
    url: &str,
    schema: &str,
) -> Result<PostgresStorage, SeedError> {
    if schema.is_empty()
        || !schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(SeedError::Plan(
            "schema names are limited to lowercase letters, digits and _",
        ));
    }
    let options = PgConnectOptions::from_str(url)?;
    let mut admin = sqlx::PgConnection::connect_with(&options).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}"
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options.options([("search_path", schema)]))
        .await?;
    let storage = PostgresStorage::new(pool);
    storage.migrate().await?;
    Ok(storage)
}

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

const USAGE: &str = "\
Seeds a support database with a realistic data set.

Usage: seed --url <URL> [options]

Options:
  --url <URL>              sqlite:path.db or postgres://user@host:port/db (required)
  --schema <NAME>          PostgreSQL schema to create and fill (default: the URL's search_path)
  --conversations <N>      conversations to create [default: 100000]
  --messages <N>           messages in total, at least one per conversation [default: 1000000]
  --admins <N>             admins answering (admin-01, admin-02, ...) [default: 8]
  --seed <N>               pseudo-random seed [default: 1]
  --no-verify              skip the consistency check after loading
  --no-progress            no progress bar
  -h, --help               this text";

struct Args {
    url: String,
    schema: Option<String>,
    plan: Plan,
    verify: bool,
    progress: bool,
}

fn parse_number<T: FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a number"))
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Self>, String> {
        let mut url = None;
        let mut schema = None;
        let mut plan = Plan::new(100_000, 1_000_000);
        let mut verify = true;
        let mut progress = true;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-h" | "--help" => return Ok(None),
                "--url" => url = Some(args.next().ok_or("--url needs a value")?),
                "--schema" => schema = Some(args.next().ok_or("--schema needs a value")?),
                "--conversations" => plan.conversations = parse_number(&arg, args.next())?,
                "--messages" => plan.messages = parse_number(&arg, args.next())?,
                "--admins" => plan.admins = parse_number(&arg, args.next())?,
                "--seed" => plan.seed = parse_number(&arg, args.next())?,
                "--no-verify" => verify = false,
                "--no-progress" => progress = false,
                other => return Err(format!("unexpected argument {other:?}")),
            }
        }
        let url = url.ok_or("--url is required")?;
        Ok(Some(Self {
            url,
            schema,
            plan,
            verify,
            progress,
        }))
    }
}

async fn run(args: Args) -> Result<(), SeedError> {
    let plan = &args.plan;
    plan.validate()?;
    let (seeded, inconsistent) = if args.url.starts_with("sqlite:") {
        if args.schema.is_some() {
            return Err(SeedError::Plan("--schema is for PostgreSQL only"));
        }
        let storage = SqliteStorage::connect(&args.url).await?;
        let seeded = seed_sqlite(&storage, plan, args.progress).await?;
        let inconsistent = if args.verify {
            Some(inconsistencies_sqlite(&storage).await?)
        } else {
            None
        };
        storage.pool().close().await;
        (seeded, inconsistent)
    } else if args.url.starts_with("postgres:") || args.url.starts_with("postgresql:") {
        let storage = match &args.schema {
            Some(schema) => postgres_on_schema(&args.url, schema).await?,
            None => PostgresStorage::connect(&args.url).await?,
        };
        let seeded = seed_postgres(&storage, plan, args.progress).await?;
        let inconsistent = if args.verify {
            Some(inconsistencies_postgres(&storage).await?)
        } else {
            None
        };
        storage.pool().close().await;
        (seeded, inconsistent)
    } else {
        return Err(SeedError::Plan(
            "--url must start with sqlite: or postgres:",
        ));
    };
    println!(
        "{}\nwrote {} conversations, {} messages, {} seen marks, {} closures in {:.1?} \
         ({:.0} messages/s)",
        plan.fingerprint(),
        seeded.conversations,
        seeded.messages,
        seeded.seen_marks,
        seeded.closures,
        seeded.elapsed,
        seeded.messages as f64 / seeded.elapsed.as_secs_f64(),
    );
    match inconsistent {
        Some(0) => println!("consistency check: every counter matches its messages"),
        Some(n) => {
            eprintln!("consistency check FAILED: {n} conversations disagree with their messages");
            std::process::exit(2);
        }
        None => {}
    }
    Ok(())
}

fn main() {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(problem) => {
            eprintln!("error: {problem}\n\n{USAGE}");
            std::process::exit(64);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(args)) {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}
