//! The webhook channel and the worker against a real HTTP receiver on
//! loopback: signatures verify, failures are retried on the backoff
//! schedule (checked with a stopped clock), permanent failures are not,
//! nothing is lost or doubled while the receiver is down, and a worker
//! killed with SIGKILL mid-delivery is redelivered with the same id.
#![allow(missing_docs)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Duration, Utc};
use support_axum::outbound::{
    WebhookChannel, WebhookConfig, WebhookSecret, Worker, WorkerConfig, sign,
};
use support_core::notification::NoContacts;
use support_core::{
    Channel, Job, JobQuery, JobState, ManualClock, NewMessage, NotificationRules, Principal,
    RetryPolicy, Storage, Support, SupportConfig, UserId,
};
use support_sqlx::SqliteStorage;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const SECRET: &str = "a-webhook-secret-for-the-tests";

// ------------------------------------------------------------- receiver

#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Bytes,
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Answer(u16),
    /// Reads the request, then never answers.
    Hang,
}

#[derive(Clone)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
}

impl Receiver {
    fn new(mode: Mode) -> Self {
        Self {
            received: Arc::default(),
            mode: Arc::new(Mutex::new(mode)),
        }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }

    /// Serves on `addr` (port 0: any) until the handle is aborted.
    async fn serve(&self, addr: SocketAddr) -> (SocketAddr, JoinHandle<()>) {
        let listener = TcpListener::bind(addr).await.expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(self.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (addr, task)
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    receiver.received.lock().expect("received").push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    let mode = *receiver.mode.lock().expect("mode");
    match mode {
        Mode::Answer(status) => StatusCode::from_u16(status).expect("status"),
        Mode::Hang => {
            tokio::time::sleep(StdDuration::from_secs(3600)).await;
            StatusCode::OK
        }
    }
}

// --------------------------------------------------------------- desk

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

fn rules() -> SupportConfig {
    SupportConfig {
        notifications: NotificationRules {
            user_channels: Vec::new(),
            team_channels: vec![Channel::Webhook],
            reply_grace: Duration::zero(),
            team_alert_window: Duration::zero(),
        },
        ..SupportConfig::default()
    }
}

fn channel(addr: SocketAddr) -> Arc<WebhookChannel> {
    let mut config = WebhookConfig::new(
        format!("http://{addr}/hook"),
        WebhookSecret::parse(SECRET).expect("secret"),
    );
    config.allow_private = true;
    config.timeout = StdDuration::from_secs(5);
    Arc::new(WebhookChannel::new(config).expect("channel"))
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        base: Duration::seconds(1),
        max: Duration::seconds(60),
        max_attempts: 5,
        jitter_per_mille: 0,
    }
}

fn worker(support: &Support, addr: SocketAddr) -> Worker {
    Worker::new(support.clone(), Arc::new(NoContacts))
        .channel(Channel::Webhook, channel(addr))
        .config(WorkerConfig {
            retry: policy(),
            ..WorkerConfig::default()
        })
}

async fn desk(storage: Arc<dyn Storage>) -> (Support, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    let support = Support::new(storage)
        .with_clock(clock.clone())
        .with_config(rules());
    (support, clock)
}

async fn sqlite_desk() -> (Support, Arc<ManualClock>) {
    let storage = SqliteStorage::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    desk(Arc::new(storage)).await
}

fn user(name: &str) -> Principal {
    Principal::user(UserId::parse(name).expect("user id"))
}

async fn write(support: &Support, who: &str, text: &str) {
    support
        .send(
            &user(who),
            NewMessage {
                content: text.to_owned(),
                client_id: None,
            },
        )
        .await
        .expect("send");
}

async fn jobs(support: &Support) -> Vec<Job> {
    support
        .notification_jobs(
            &Principal::admin(UserId::parse("ada").expect("id")),
            JobQuery {
                states: Vec::new(),
                limit: 200,
            },
        )
        .await
        .expect("jobs")
}

// --------------------------------------------------------------- tests

#[tokio::test]
async fn a_webhook_is_signed_over_id_timestamp_and_body() {
    let (support, _clock) = sqlite_desk().await;
    let receiver = Receiver::new(Mode::Answer(204));
    let (addr, _server) = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    write(&support, "alice", "my <b>invoice</b> is wrong").await;
    let stats = worker(&support, addr).run_once().await.expect("run");
    assert_eq!(stats.delivered, 1, "{stats:?}");

    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let request = &got[0];
    let job = &jobs(&support).await[0];
    assert_eq!(
        request.id,
        job.id.to_string(),
        "webhook-id is the delivery id"
    );
    assert_eq!(job.state, JobState::Done);
    let timestamp: i64 = request.timestamp.parse().expect("seconds");
    assert!((Utc::now().timestamp() - timestamp).abs() < 60);
    let secret = WebhookSecret::parse(SECRET).expect("secret");
    assert_eq!(
        request.signature,
        sign(&secret, &request.id, timestamp, &request.body),
        "the signature verifies"
    );
    assert!(request.signature.starts_with("v1,"));
    let forged = sign(
        &WebhookSecret::parse("another-secret-of-some-length").expect("secret"),
        &request.id,
        timestamp,
        &request.body,
    );
    assert_ne!(request.signature, forged);
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON");
    assert_eq!(body["type"], "support.user_message");
    assert_eq!(body["data"]["delivery_id"], request.id.as_str());
    assert_eq!(body["data"]["conversation_owner"], "alice");
    assert_eq!(
        body["data"]["messages"][0]["content"],
        "my <b>invoice</b> is wrong"
    );
}

#[tokio::test]
async fn failures_are_retried_on_the_backoff_schedule_until_the_job_dies() {
    let (support, clock) = sqlite_desk().await;
    let receiver = Receiver::new(Mode::Answer(503));
    let (addr, _server) = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let worker = worker(&support, addr);
    write(&support, "alice", "hello").await;

    // Waits of 1, 2, 4, 8 s after attempts 1 to 4; attempt 5 is the last.
    let mut waits = Vec::new();
    for attempt in 1..=5 {
        let stats = worker.run_once().await.expect("run");
        assert_eq!(stats.claimed, 1, "attempt {attempt}: {stats:?}");
        let job = jobs(&support).await.remove(0);
        assert_eq!(job.attempts, attempt);
        if attempt == 5 {
            assert_eq!(job.state, JobState::Dead);
            break;
        }
        assert_eq!(job.state, JobState::Retrying);
        let wait = job.due_at - support.now();
        waits.push(wait.num_seconds());
        // Just before its time: nothing to claim.
        clock.advance(wait - Duration::milliseconds(1));
        assert_eq!(worker.run_once().await.expect("run").claimed, 0);
        clock.advance(Duration::milliseconds(1));
    }
    assert_eq!(waits, vec![1, 2, 4, 8]);
    assert_eq!(receiver.received().len(), 5);
    clock.advance(Duration::hours(1));
    assert_eq!(
        worker.run_once().await.expect("run").claimed,
        0,
        "dead stays dead"
    );
}

#[tokio::test]
async fn a_client_error_is_permanent_and_not_retried() {
    let (support, clock) = sqlite_desk().await;
    let receiver = Receiver::new(Mode::Answer(400));
    let (addr, _server) = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let worker = worker(&support, addr);
    write(&support, "alice", "hello").await;
    let stats = worker.run_once().await.expect("run");
    assert_eq!(stats.dead, 1, "{stats:?}");
    clock.advance(Duration::hours(1));
    assert_eq!(worker.run_once().await.expect("run").claimed, 0);
    assert_eq!(receiver.received().len(), 1);
    let job = jobs(&support).await.remove(0);
    assert_eq!(job.state, JobState::Dead);
    assert!(
        job.last_error.as_deref().is_some_and(|e| e.contains("400")),
        "{job:?}"
    );
}

#[tokio::test]
async fn a_claim_whose_lease_cannot_cover_a_delivery_is_left_to_a_later_claim() {
    let (support, clock) = sqlite_desk().await;
    let receiver = Receiver::new(Mode::Answer(200));
    let (addr, _server) = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    write(&support, "alice", "hello").await;
    // A lease shorter than one delivery may take: delivering could finish
    // after another worker took the job over.
    let hasty = worker(&support, addr).config(WorkerConfig {
        lease: Duration::seconds(5),
        delivery_timeout: StdDuration::from_secs(30),
        retry: policy(),
        ..WorkerConfig::default()
    });
    let stats = hasty.run_once().await.expect("run");
    assert_eq!(
        (stats.claimed, stats.delivered, stats.lost),
        (1, 0, 1),
        "{stats:?}"
    );
    assert!(receiver.received().is_empty(), "nothing was sent");
    // After the lease, a worker whose lease covers a delivery sends it once.
    clock.advance(Duration::seconds(6));
    let stats = worker(&support, addr).run_once().await.expect("run");
    assert_eq!(stats.delivered, 1, "{stats:?}");
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn loopback_targets_are_refused_unless_allowed() {
    let (support, _clock) = sqlite_desk().await;
    let receiver = Receiver::new(Mode::Answer(200));
    let (addr, _server) = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let strict = WebhookChannel::new(WebhookConfig::new(
        format!("http://{addr}/hook"),
        WebhookSecret::parse(SECRET).expect("secret"),
    ))
    .expect("channel");
    let worker = Worker::new(support.clone(), Arc::new(NoContacts))
        .channel(Channel::Webhook, Arc::new(strict));
    write(&support, "alice", "hello").await;
    let stats = worker.run_once().await.expect("run");
    assert_eq!(stats.dead, 1, "{stats:?}");
    assert!(receiver.received().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn receiver_down_then_up_every_notification_arrives_once() {
    let (support, clock) = sqlite_desk().await;
    let receiver = Receiver::new(Mode::Answer(200));
    // Reserve a port, then take the receiver down.
    let (addr, server) = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    server.abort();
    let _ = server.await;
    let worker = worker(&support, addr);
    for i in 0..10 {
        write(&support, &format!("user{i}"), "help").await;
    }
    let down = worker.run_once().await.expect("run");
    assert_eq!(down.retried, 10, "{down:?}");
    clock.advance(Duration::seconds(1));
    let still_down = worker.run_once().await.expect("run");
    assert_eq!(still_down.retried, 10, "{still_down:?}");

    let (_, _server) = receiver.serve(addr).await;
    for _ in 0..10 {
        clock.advance(Duration::seconds(60));
        worker.run_once().await.expect("run");
    }
    let got = receiver.received();
    let ids: HashSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(got.len(), 10, "none twice");
    assert_eq!(ids.len(), 10, "every one");
    assert!(
        jobs(&support)
            .await
            .iter()
            .all(|j| j.state == JobState::Done)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_postgres_never_deliver_a_job_twice() {
    let Some(pool_a) = support_test_harness::postgres_pool().await else {
        return;
    };
    let storage = support_sqlx::PostgresStorage::new(pool_a);
    storage.migrate().await.expect("migrate");
    let support = Support::new(Arc::new(storage.clone())).with_config(rules());
    for i in 0..60 {
        write(&support, &format!("user{i}"), "help").await;
    }
    let receiver = Receiver::new(Mode::Answer(200));
    let (addr, _server) = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    // Two workers, each with its own pool, as two processes would have.
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let pool = sqlx_pool_like(&storage).await;
        let support =
            Support::new(Arc::new(support_sqlx::PostgresStorage::new(pool))).with_config(rules());
        let worker = worker(&support, addr).config(WorkerConfig {
            batch: 4,
            retry: policy(),
            ..WorkerConfig::default()
        });
        tasks.push(tokio::spawn(async move {
            let mut delivered = 0;
            loop {
                let stats = worker.run_once().await.expect("run");
                if stats.claimed == 0 {
                    return delivered;
                }
                delivered += stats.delivered;
            }
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("worker");
    }
    assert_eq!(total, 60);
    let got = receiver.received();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for request in &got {
        *counts.entry(request.id.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), 60, "every job delivered");
    assert!(counts.values().all(|n| *n == 1), "none twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_of_another_process_is_woken_by_the_commit_not_its_poll() {
    let Some(pool) = support_test_harness::postgres_pool().await else {
        return;
    };
    let storage = support_sqlx::PostgresStorage::new(pool);
    storage.migrate().await.expect("migrate");
    let receiver = Receiver::new(Mode::Answer(200));
    let (addr, _server) = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    // The worker's process: its own pool and storage, and a poll so slow
    // that only the commit's wake-up can start the delivery in time.
    let other = support_sqlx::PostgresStorage::new(sqlx_pool_like(&storage).await);
    let worker_support = Support::new(Arc::new(other)).with_config(rules());
    let worker = worker(&worker_support, addr).config(WorkerConfig {
        poll_interval: StdDuration::from_secs(3600),
        retry: policy(),
        ..WorkerConfig::default()
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker.run(stopped));
    // Its first claim (at start) finds nothing; then it waits.
    tokio::time::sleep(StdDuration::from_millis(500)).await;

    let writer = Support::new(Arc::new(storage)).with_config(rules());
    write(&writer, "alice", "help").await;
    let deadline = Instant::now() + StdDuration::from_secs(20);
    while receiver.received().is_empty() {
        assert!(Instant::now() < deadline, "the worker was not woken");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "delivered once");
    stop.send_replace(true);
    running.await.expect("worker stops");
}

/// Another pool on the same schema.
async fn sqlx_pool_like(storage: &support_sqlx::PostgresStorage) -> sqlx::PgPool {
    let options = storage.pool().connect_options().as_ref().clone();
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .expect("second pool")
}

// ------------------------------------------------- kill -9 mid-delivery

const CHILD_DB: &str = "SUPPORT_NOTIFY_TEST_CHILD_DB";
const CHILD_HOOK: &str = "SUPPORT_NOTIFY_TEST_CHILD_HOOK";
const CHILD_LEASE_SECS: &str = "SUPPORT_NOTIFY_TEST_CHILD_LEASE_SECS";

/// Storage at `url`: PostgreSQL for `postgres:` URLs, SQLite otherwise.
async fn storage_at(url: &str) -> Arc<dyn Storage> {
    if url.starts_with("postgres") {
        Arc::new(
            support_sqlx::PostgresStorage::connect(url)
                .await
                .expect("postgres"),
        )
    } else {
        Arc::new(SqliteStorage::connect(url).await.expect("sqlite"))
    }
}

/// The child process of the multi-process tests: a worker on the given
/// database (SQLite or PostgreSQL URL) and receiver, with the given lease,
/// running until killed. Does nothing in a normal test run.
#[tokio::test]
async fn child_worker_process() {
    let (Ok(db), Ok(hook)) = (std::env::var(CHILD_DB), std::env::var(CHILD_HOOK)) else {
        return;
    };
    let lease = std::env::var(CHILD_LEASE_SECS)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let support = Support::new(storage_at(&db).await).with_config(rules());
    let worker = worker(&support, hook.parse().expect("addr")).config(WorkerConfig {
        lease: Duration::seconds(lease),
        batch: 4,
        retry: policy(),
        // A delivery must fit in the lease, or the worker does not start it.
        delivery_timeout: StdDuration::from_millis(500),
        ..WorkerConfig::default()
    });
    loop {
        worker.run_once().await.expect("child run");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// Starts this test binary as a worker process on `db` (a URL) delivering
/// to `hook`, its claims leased for `lease_secs`.
fn spawn_child_worker(db: &str, hook: SocketAddr, lease_secs: i64) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child_worker_process", "--nocapture"])
        .env(CHILD_DB, db)
        .env(CHILD_HOOK, hook.to_string())
        .env(CHILD_LEASE_SECS, lease_secs.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn the child worker")
}

/// Kills the children when a test ends, passed or failed.
struct Children(Vec<std::process::Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_on_postgres_never_deliver_a_job_twice() {
    let Some(url) = support_test_harness::postgres_schema_url().await else {
        return;
    };
    let storage = storage_at(&url).await;
    let support = Support::new(storage).with_config(rules());
    // `jobs` lists at most 200.
    const JOBS: usize = 200;
    for i in 0..JOBS {
        write(&support, &format!("user{i}"), "help").await;
    }
    let receiver = Receiver::new(Mode::Answer(200));
    let (addr, _server) = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    // A lease far longer than the test: no claim is ever taken over, so
    // any double delivery would be two live claims on one job.
    let children = Children(vec![
        spawn_child_worker(&url, addr, 600),
        spawn_child_worker(&url, addr, 600),
    ]);

    let deadline = Instant::now() + StdDuration::from_secs(120);
    loop {
        let all = jobs(&support).await;
        assert_eq!(all.len(), JOBS);
        if all.iter().all(|j| j.state == JobState::Done) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every job was delivered: {} of {JOBS} done",
            all.iter().filter(|j| j.state == JobState::Done).count()
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    // Both children keep polling for a while: nothing more may arrive.
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    drop(children);

    let got = receiver.received();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for request in &got {
        *counts.entry(request.id.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), JOBS, "every job delivered");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(got.len(), JOBS);
    assert!(
        jobs(&support).await.iter().all(|j| j.attempts == 1),
        "every job claimed once"
    );
}

/// A job is written on `db`; a child worker process takes it and the
/// receiver holds the request; the child is killed with SIGKILL; after
/// the lease, another worker delivers it again with the same delivery id.
async fn killed_worker_is_redelivered_with_the_same_id(db: &str) {
    let support = Support::new(storage_at(db).await).with_config(rules());
    write(&support, "alice", "please call me back").await;

    let receiver = Receiver::new(Mode::Hang);
    let (addr, _server) = receiver.serve("127.0.0.1:0".parse().expect("addr")).await;
    let mut children = Children(vec![spawn_child_worker(db, addr, 2)]);

    // The receiver accepted the delivery; the child waits for its answer.
    let deadline = Instant::now() + StdDuration::from_secs(60);
    while receiver.received().is_empty() {
        assert!(Instant::now() < deadline, "the child never delivered");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    let mut child = children.0.remove(0);
    child.kill().expect("kill -9 the child"); // SIGKILL on Unix
    child.wait().expect("reap the child");
    let job = jobs(&support).await.remove(0);
    assert_eq!(job.state, JobState::Running, "not marked done: {job:?}");

    // After the lease, another worker delivers it again, same id.
    receiver.set(Mode::Answer(200));
    let worker = worker(&support, addr);
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        let stats = worker.run_once().await.expect("run");
        if stats.delivered == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "never redelivered");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].id, got[1].id,
        "the same delivery id on both attempts"
    );
    let job = jobs(&support).await.remove(0);
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.attempts, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_delivery_is_redelivered_with_the_same_id() {
    let file = support_test_harness::TempSqlite::new();
    killed_worker_is_redelivered_with_the_same_id(&file.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_delivery_on_postgres_is_redelivered_with_the_same_id() {
    let Some(url) = support_test_harness::postgres_schema_url().await else {
        return;
    };
    killed_worker_is_redelivered_with_the_same_id(&url).await;
}
