//! Several server processes on one PostgreSQL database behave like one:
//! a subscriber on any node receives every event it may see, exactly once
//! and in log order, whichever node wrote it; a lost `LISTEN` connection
//! and a database restart lose and double nothing.
//!
//! Each node is this test binary re-run as a child process that starts the
//! example server (`node_process`), so every node is its own OS process
//! with its own pool, live hub and listener.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support_axum::auth::ClaimsRole;
use support_e2e::Actor;
use support_example::API_BASE;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

const NODE_DB: &str = "SUPPORT_E2E_NODE_DB";

/// The child process: the example server on `$SUPPORT_E2E_NODE_DB`,
/// announcing its address, until killed. Does nothing in a normal run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_process() {
    let Ok(db) = std::env::var(NODE_DB) else {
        return;
    };
    let running = support_example::start(&support_e2e::config(&db))
        .await
        .expect("start node");
    println!("node listening on {}", running.base_url());
    std::future::pending::<()>().await;
}

/// A node: an example-server process, killed when dropped.
struct Node {
    child: Child,
    api: String,
}

impl Node {
    fn spawn(db: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "node_process", "--nocapture", "--test-threads=1"])
            .env(NODE_DB, db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn node");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the node exited before listening")
                .expect("read node output");
            // libtest may have printed "test node_process ... " before it.
            if let Some((_, base)) = line.split_once("node listening on ") {
                break base.trim().to_owned();
            }
        };
        // Keep reading, so the node never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            api: format!("{base}{API_BASE}"),
        }
    }

    fn user(&self, id: &str) -> Actor {
        Actor::at(&self.api, id, ClaimsRole::User)
    }

    fn admin(&self, id: &str) -> Actor {
        Actor::at(&self.api, id, ClaimsRole::Admin)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------ subscribers

/// One event as a subscriber received it.
#[derive(Clone, Debug)]
struct Received {
    id: i64,
    name: String,
    content: Option<String>,
    at: Instant,
}

/// A subscriber that follows its stream the way `EventSource` does:
/// reconnecting with `Last-Event-ID` whenever the stream ends or is
/// refused.
struct Subscriber {
    label: String,
    actor: Actor,
    /// Where its first stream started (the `ready` id).
    start: i64,
    /// The last id it must receive; set once the writes are done.
    until: watch::Sender<Option<i64>>,
    task: JoinHandle<Vec<Received>>,
}

impl Subscriber {
    async fn start(label: String, actor: Actor) -> Self {
        let (until, target) = watch::channel(None);
        let (started, start) = oneshot::channel();
        let task = tokio::spawn(follow(actor.clone(), target, started));
        let start = tokio::time::timeout(Duration::from_secs(30), start)
            .await
            .expect("stream opened")
            .expect("ready");
        Self {
            label,
            actor,
            start,
            until,
            task,
        }
    }

    /// Waits until it received `expected` (ids in order) and returns what
    /// it received.
    async fn finish(self, expected: &[i64]) -> (String, Vec<Received>) {
        let last = expected.last().copied().unwrap_or(self.start);
        self.until.send_replace(Some(last));
        let received = tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .unwrap_or_else(|_| panic!("{}: not every event arrived", self.label))
            .expect("subscriber");
        (self.label, received)
    }
}

async fn follow(
    actor: Actor,
    until: watch::Receiver<Option<i64>>,
    started: oneshot::Sender<i64>,
) -> Vec<Received> {
    let mut started = Some(started);
    let mut last: Option<String> = None;
    let mut received: Vec<Received> = Vec::new();
    let done = |received: &[Received], last: &Option<String>| match *until.borrow() {
        Some(target) => {
            let at = received
                .last()
                .map(|r| r.id)
                .or_else(|| last.as_deref().and_then(|id| id.parse().ok()));
            at.is_some_and(|at| at >= target)
        }
        None => false,
    };
    loop {
        let Some(mut stream) = actor.try_events(last.as_deref()).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        loop {
            match stream.next_or_end(Duration::from_millis(100)).await {
                Ok(Some(event)) => {
                    let id = event.id.clone();
                    if event.event == "ready" {
                        if let Some(started) = started.take() {
                            let _ = started
                                .send(id.as_deref().and_then(|id| id.parse().ok()).unwrap_or(0));
                        }
                    } else {
                        received.push(Received {
                            id: id.as_deref().and_then(|id| id.parse().ok()).unwrap_or(-1),
                            name: event.event.clone(),
                            content: event.data["content"].as_str().map(str::to_owned),
                            at: Instant::now(),
                        });
                    }
                    if id.is_some() {
                        last = id;
                    }
                }
                Ok(None) => {}
                // Reconnect with Last-Event-ID, as a browser does.
                Err(_) => break,
            }
            if done(&received, &last) {
                return received;
            }
        }
    }
}

/// The ids `actor` may receive after `after`, read back from the log
/// (a replay from position 0 on `actor`'s node).
async fn expected_after(actor: &Actor, after: i64) -> Vec<i64> {
    let mut replay = actor.events(Some("0")).await;
    // The first event may be slow on a busy machine (debug servers, other
    // tests); after it, the replay comes at once.
    let first = replay.next(Duration::from_secs(10)).await;
    first
        .into_iter()
        .chain(replay.drain(Duration::from_millis(500)).await)
        .filter_map(|event| event.id.and_then(|id| id.parse::<i64>().ok()))
        .filter(|id| *id > after)
        .collect()
}

/// Every subscriber got exactly what it may see, once, in log order.
async fn check_delivery(subscribers: Vec<Subscriber>) -> Vec<(String, Vec<Received>)> {
    let mut results = Vec::new();
    for subscriber in subscribers {
        let expected = expected_after(&subscriber.actor, subscriber.start).await;
        assert!(
            !expected.is_empty(),
            "{}: nothing to receive",
            subscriber.label
        );
        let (label, received) = subscriber.finish(&expected).await;
        let ids: Vec<i64> = received.iter().map(|r| r.id).collect();
        assert_eq!(
            ids, expected,
            "{label}: every event it may see, once, in log order"
        );
        results.push((label, received));
    }
    results
}

/// A write acknowledged: the time, by message content.
type Acks = Arc<Mutex<HashMap<String, Instant>>>;

/// Sends until acknowledged (retrying with the same client id, so a
/// retry never doubles a message), and records the acknowledgement.
async fn write(actor: &Actor, path: &str, content: &str, acks: &Acks) -> Value {
    let body = json!({ "content": content, "client_id": content.replace(' ', "-") });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = actor.request(Method::POST, path).json(&body).send().await;
        let status = answer.as_ref().map(|response| response.status()).ok();
        if let Ok(response) = answer
            && matches!(response.status(), StatusCode::OK | StatusCode::CREATED)
        {
            acks.lock()
                .expect("acks")
                .insert(content.to_owned(), Instant::now());
            return response.json().await.expect("JSON");
        }
        assert!(
            Instant::now() < deadline,
            "{content}: never acknowledged (last: {status:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Milliseconds from a message's acknowledgement to its arrival at each
/// subscriber (0 when it arrived first).
fn latencies(results: &[(String, Vec<Received>)], acks: &Acks) -> Vec<f64> {
    let acks = acks.lock().expect("acks");
    let mut all: Vec<f64> = results
        .iter()
        .flat_map(|(_, received)| received.iter())
        .filter(|r| r.name == "message.created")
        .filter_map(|r| {
            let ack = acks.get(r.content.as_deref()?)?;
            Some(r.at.saturating_duration_since(*ack).as_secs_f64() * 1000.0)
        })
        .collect();
    all.sort_by(f64::total_cmp);
    all
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

// ------------------------------------------------------------------ tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_deliver_every_event_to_every_subscriber_once_in_order() {
    let Some(db) = support_test_harness::postgres_schema_url().await else {
        return;
    };
    let nodes: Vec<Node> = (0..3).map(|_| Node::spawn(&db)).collect();
    let mut subscribers = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for (who, actor) in [
            ("ada", node.admin("ada")),
            ("alice", node.user("alice")),
            ("bob", node.user("bob")),
        ] {
            subscribers.push(Subscriber::start(format!("{who} on node {n}"), actor).await);
        }
    }

    let acks = Acks::default();
    let mut conversation = None;
    for round in 0..20 {
        let alice = nodes[round % 3].user("alice");
        let sent = write(&alice, "/messages", &format!("alice {round}"), &acks).await;
        let bob = nodes[(round + 1) % 3].user("bob");
        write(&bob, "/messages", &format!("bob {round}"), &acks).await;
        let id = conversation
            .get_or_insert_with(|| sent["conversation"]["id"].as_str().expect("id").to_owned())
            .clone();
        let ada = nodes[(round + 2) % 3].admin("ada");
        let path = format!("/conversations/{id}/messages");
        write(&ada, &path, &format!("ada {round}"), &acks).await;
    }

    let results = check_delivery(subscribers).await;
    // Users never receive another user's events (the expected lists are
    // their own replays; this checks the content too).
    for (label, received) in &results {
        if label.starts_with("bob") {
            assert!(
                received
                    .iter()
                    .filter_map(|r| r.content.as_deref())
                    .all(|c| c.starts_with("bob")),
                "{label} received another user's message"
            );
        }
    }
    let latencies = latencies(&results, &acks);
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    println!(
        "cross-node delivery, {} deliveries: p50 {p50:.1} ms, p99 {p99:.1} ms",
        latencies.len()
    );
    // Carried by the commit's notification, not found by the periodic
    // check (every 2 s).
    assert!(p99 < 1000.0, "p99 {p99:.1} ms: live delivery is not live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listener_and_a_database_restart_lose_and_double_nothing() {
    let Some(postgres) = support_test_harness::RestartablePostgres::start() else {
        return;
    };
    let db = postgres.url();
    let nodes = [Node::spawn(&db), Node::spawn(&db)];
    let mut subscribers = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        subscribers.push(Subscriber::start(format!("ada on node {n}"), node.admin("ada")).await);
        subscribers.push(Subscriber::start(format!("alice on node {n}"), node.user("alice")).await);
    }
    let acks = Acks::default();
    for round in 0..30 {
        if round == 10 {
            // Every LISTEN connection, cut as an administrator would.
            let killed: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) \
                 FROM pg_stat_activity WHERE query LIKE 'LISTEN %') AS killed",
            )
            .fetch_one(&mut connect(&db).await)
            .await
            .expect("terminate listeners");
            assert_eq!(killed, 2, "one listener per node");
        }
        if round == 20 {
            // Every connection of every node is cut, and the database is
            // away for a moment.
            tokio::task::block_in_place(|| postgres.restart());
        }
        // Writes through both nodes, each acknowledged (retried while the
        // database is away).
        write(
            &nodes[round % 2].user("alice"),
            "/messages",
            &format!("alice {round}"),
            &acks,
        )
        .await;
        write(
            &nodes[(round + 1) % 2].user("bob"),
            "/messages",
            &format!("bob {round}"),
            &acks,
        )
        .await;
    }
    let results = check_delivery(subscribers).await;
    let latencies = latencies(&results, &acks);
    let p99 = percentile(&latencies, 0.99);
    println!(
        "through a listener loss and a restart, {} deliveries: p50 {:.1} ms, p99 {p99:.1} ms, \
         max {:.1} ms",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 1.0)
    );
    // The listeners came back: delivery did not fall back to the
    // periodic check (every 2 s).
    assert!(p99 < 1000.0, "p99 {p99:.1} ms after reconnecting");
}

async fn connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.expect("connect")
}

// ------------------------------------------------------ typing and presence

/// Waits until `GET /presence` as `actor` satisfies `check`; the time it
/// took.
async fn presence_until(actor: &Actor, check: impl Fn(&Value) -> bool, what: &str) -> Duration {
    let started = Instant::now();
    loop {
        let presence = actor.get_ok("/presence").await;
        if check(&presence) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{what}: presence is {presence}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn lists_admin(presence: &Value, admin: &str) -> bool {
    presence["admins"]
        .as_array()
        .is_some_and(|admins| admins.iter().any(|a| a["user_id"] == admin))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_and_presence_cross_nodes_and_a_killed_nodes_admins_go_offline() {
    let Some(db) = support_test_harness::postgres_schema_url().await else {
        return;
    };
    let a = Node::spawn(&db);
    let b = Node::spawn(&db);
    let conversations: Vec<String> = futures::future::join_all((0..30).map(|n| {
        let user = a.user(&format!("user-{n}"));
        async move { user.send("Hello?").await.0 }
    }))
    .await;
    let grace_on_a = a.admin("grace");
    let mut grace_stream = grace_on_a.signals().await;
    let mut user_stream = a.user("user-0").signals().await;

    // Ada's only stream is on node b: node a sees her online.
    let ada_stream = b.admin("ada").signals().await;
    presence_until(&grace_on_a, |p| lists_admin(p, "ada"), "ada online on a").await;
    let user_view = a.user("user-0").get_ok("/presence").await;
    assert_eq!(user_view["team_online"], true, "{user_view}");

    // What she views, said to the node that does not hold her stream,
    // shows everywhere.
    let response = a
        .admin("ada")
        .request(Method::PUT, "/presence")
        .json(&json!({ "viewing": conversations[0] }))
        .send()
        .await
        .expect("PUT presence");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let viewing_shown = |p: &Value| {
        p["admins"].as_array().is_some_and(|admins| {
            admins
                .iter()
                .any(|a| a["user_id"] == "ada" && a["viewing"] == json!([conversations[0]]))
        })
    };
    presence_until(&grace_on_a, viewing_shown, "ada's view on a").await;
    presence_until(&b.admin("grace"), viewing_shown, "ada's view on b").await;

    // Typing on b reaches a's subscribers (one per conversation: no
    // throttle in the way).
    let ada = b.admin("ada");
    let mut latencies = Vec::new();
    for conversation in &conversations {
        let sent = Instant::now();
        let response = ada
            .request(
                Method::POST,
                &format!("/conversations/{conversation}/typing"),
            )
            .send()
            .await
            .expect("POST typing");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        loop {
            let event = grace_stream
                .next(Duration::from_secs(5))
                .await
                .expect("typing reaches node a");
            if event.event == "typing" && event.data["conversation_id"] == conversation.as_str() {
                assert_eq!(event.data["user_id"], "ada");
                break;
            }
        }
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    let typed_to_user = loop {
        let event = user_stream
            .next(Duration::from_secs(5))
            .await
            .expect("the user's typing signal");
        if event.event == "typing" {
            break event;
        }
    };
    assert_eq!(
        typed_to_user.data["conversation_id"],
        conversations[0].as_str()
    );
    assert_eq!(typed_to_user.data["user_id"], Value::Null);
    latencies.sort_by(f64::total_cmp);
    println!(
        "typing across nodes (POST on b to event on a), {} signals: p50 {:.1} ms, p99 {:.1} ms",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );

    // Node b dies with ada's stream open: she is offline on a within the
    // grace period.
    let killed = Instant::now();
    drop(b);
    drop(ada_stream);
    presence_until(&grace_on_a, |p| !lists_admin(p, "ada"), "ada offline on a").await;
    let offline_after = killed.elapsed();
    let grace = Duration::from_secs(u64::from(support_e2e::PRESENCE_GRACE_SECS));
    println!("a killed node's admin went offline after {offline_after:?} (grace {grace:?})");
    // Within the grace period; and not before its last report (a third
    // of the grace period before the kill at most) stopped counting.
    assert!(
        offline_after <= grace + Duration::from_millis(250),
        "offline after {offline_after:?}, grace {grace:?}"
    );
    assert!(
        offline_after >= grace / 2,
        "offline after {offline_after:?}: too early for a grace period of {grace:?}"
    );
    // Grace is still online, through her own node.
    let presence = grace_on_a.get_ok("/presence").await;
    assert!(lists_admin(&presence, "grace"), "{presence}");
}
