//! Notification delivery on PostgreSQL: jobs delivered per second by one
//! and by four workers, and the delay from commit to delivery with a zero
//! team-alert window.
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-nbench cargo bench -p support-axum --bench notifications
//! # options after `--`: --jobs N (5000), --rounds N (2), --latency-jobs N (500),
//! #                     --latency-rate N per second (100)
//! # a smoke run on small numbers (200 jobs, 20 for the delay):
//! CARGO_TARGET_DIR=/work/target-nbench cargo test -p support-axum --bench notifications
//! ```
//!
//! PostgreSQL comes from `support_test_harness` (`DATABASE_URL`, or a
//! throwaway cluster); without either and with `SUPPORT_SKIP_POSTGRES=1`
//! the bench prints a banner and measures nothing.
//!
//! Jobs are written through the real write path: `Support::send` by one
//! new user each, with the webhook as the team channel and a zero window,
//! so every send commits one team-alert job in its transaction. The
//! receiver is an axum server on loopback answering 200; it counts
//! requests by `webhook-id` (the delivery id), and every measurement
//! checks that each job arrived exactly once.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Duration;
use support_axum::outbound::{WebhookChannel, WebhookConfig, WebhookSecret, Worker, WorkerConfig};
use support_core::notification::NoContacts;
use support_core::{
    Channel, NewMessage, NotificationRules, Principal, Support, SupportConfig, UserId,
};
use support_sqlx::PostgresStorage;
use tokio::net::TcpListener;
use tokio::sync::watch;

const SECRET: &str = "a-webhook-secret-for-the-bench";

// ------------------------------------------------------------- receiver

/// One request as the receiver saw it.
struct Arrival {
    delivery_id: String,
    owner: String,
    at: Instant,
}

#[derive(Clone, Default)]
struct Receiver {
    arrivals: Arc<Mutex<Vec<Arrival>>>,
}

impl Receiver {
    async fn serve(&self) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    }

    fn count(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }

    fn take(&self) -> Vec<Arrival> {
        std::mem::take(&mut *self.arrivals.lock().unwrap())
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let delivery_id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let owner = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["data"]["conversation_owner"].as_str().map(str::to_owned))
        .unwrap_or_default();
    receiver.arrivals.lock().unwrap().push(Arrival {
        delivery_id,
        owner,
        at,
    });
    StatusCode::OK
}

/// Every job arrived exactly once: `expected` distinct delivery ids, no
/// id twice.
fn check_exactly_once(arrivals: &[Arrival], expected: usize) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for arrival in arrivals {
        *counts.entry(arrival.delivery_id.as_str()).or_default() += 1;
    }
    let doubled = counts.values().filter(|n| **n > 1).count();
    assert_eq!(doubled, 0, "{doubled} delivery ids arrived more than once");
    assert_eq!(counts.len(), expected, "distinct delivery ids");
}

// --------------------------------------------------------------- desk

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

/// A `Support` on its own pool of `connections` on the schema of `base`.
async fn support_on(base: &PostgresStorage, connections: u32) -> Support {
    let options = base.pool().connect_options().as_ref().clone();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(connections)
        .connect_with(options)
        .await
        .unwrap();
    Support::new(Arc::new(PostgresStorage::new(pool))).with_config(rules())
}

fn worker(support: Support, addr: SocketAddr, poll_interval: StdDuration) -> Worker {
    let mut config = WebhookConfig::new(
        format!("http://{addr}/hook"),
        WebhookSecret::parse(SECRET).unwrap(),
    );
    config.allow_private = true;
    Worker::new(support, Arc::new(NoContacts))
        .channel(
            Channel::Webhook,
            Arc::new(WebhookChannel::new(config).unwrap()),
        )
        .config(WorkerConfig {
            poll_interval,
            ..WorkerConfig::default()
        })
}

/// A fresh, migrated schema.
async fn fresh_schema() -> Option<PostgresStorage> {
    let pool = support_test_harness::postgres_pool().await?;
    let storage = PostgresStorage::new(pool);
    storage.migrate().await.unwrap();
    Some(storage)
}

async fn send_as(support: &Support, user: &str) {
    support
        .send(
            &Principal::user(UserId::parse(user).unwrap()),
            NewMessage {
                content: "my invoice is wrong, please help".to_owned(),
                client_id: None,
            },
        )
        .await
        .unwrap();
}

/// Writes `jobs` team alerts, one new user each, with 8 concurrent
/// senders. Returns the seconds it took.
async fn seed(storage: &PostgresStorage, jobs: usize) -> f64 {
    let support = Support::new(Arc::new(storage.clone())).with_config(rules());
    let started = Instant::now();
    let senders = 8;
    let mut tasks = Vec::new();
    for s in 0..senders {
        let support = support.clone();
        tasks.push(tokio::spawn(async move {
            for i in (s..jobs).step_by(senders) {
                send_as(&support, &format!("user{i:06}")).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed().as_secs_f64()
}

// ----------------------------------------------------------- throughput

struct Throughput {
    workers: usize,
    jobs: usize,
    seconds: f64,
}

/// Seeds `jobs` jobs on a fresh schema, then drains them with `workers`
/// workers, each on its own pool, all started together.
async fn throughput(workers: usize, jobs: usize) -> Option<Throughput> {
    let storage = fresh_schema().await?;
    let seeded = seed(&storage, jobs).await;
    eprintln!("  seeded {jobs} jobs in {seeded:.1} s; draining with {workers} worker(s)");
    let receiver = Receiver::default();
    let addr = receiver.serve().await;
    let mut desks = Vec::new();
    for _ in 0..workers {
        desks.push(support_on(&storage, 2).await);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for support in desks {
        let worker = worker(support, addr, StdDuration::from_millis(500));
        tasks.push(tokio::spawn(async move {
            let mut delivered = 0;
            loop {
                let stats = worker.run_once().await.unwrap();
                assert_eq!(stats.delivered, stats.claimed, "{stats:?}");
                if stats.claimed == 0 {
                    return delivered;
                }
                delivered += stats.delivered;
            }
        }));
    }
    let mut delivered = 0;
    for task in tasks {
        delivered += task.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(delivered, jobs, "jobs the workers report delivered");
    let arrivals = receiver.take();
    check_exactly_once(&arrivals, jobs);
    storage.pool().close().await;
    Some(Throughput {
        workers,
        jobs,
        seconds,
    })
}

// -------------------------------------------------------------- latency

struct Latency {
    poll_ms: u64,
    jobs: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    early: usize,
}

/// One worker running (`Worker::run`, polling every `poll`), one sender
/// writing `jobs` sends at `rate` per second; per job, the time from
/// `send` returning (its transaction committed) to the receiver's
/// arrival.
async fn latency(jobs: usize, rate: u32, poll: StdDuration) -> Option<Latency> {
    let storage = fresh_schema().await?;
    let receiver = Receiver::default();
    let addr = receiver.serve().await;
    let (stop, stopped) = watch::channel(false);
    let worker = worker(support_on(&storage, 2).await, addr, poll);
    let running = tokio::spawn(worker.run(stopped));
    let support = Support::new(Arc::new(storage.clone())).with_config(rules());
    let gap = StdDuration::from_secs_f64(1.0 / f64::from(rate));
    let mut committed = HashMap::new();
    let mut next = Instant::now();
    for i in 0..jobs {
        let user = format!("late{i:06}");
        send_as(&support, &user).await;
        committed.insert(user, Instant::now());
        next += gap;
        tokio::time::sleep_until(next.into()).await;
    }
    let deadline = Instant::now() + StdDuration::from_secs(60);
    while receiver.count() < jobs {
        assert!(Instant::now() < deadline, "not every job was delivered");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    stop.send(true).unwrap();
    running.await.unwrap();
    let arrivals = receiver.take();
    check_exactly_once(&arrivals, jobs);
    let mut delays: Vec<f64> = arrivals
        .iter()
        .map(|a| {
            let done = committed[&a.owner];
            // The worker may deliver before `send` has returned.
            if a.at >= done {
                a.at.duration_since(done).as_secs_f64() * 1e3
            } else {
                -(done.duration_since(a.at).as_secs_f64() * 1e3)
            }
        })
        .collect();
    delays.sort_by(f64::total_cmp);
    let early = delays.iter().filter(|d| **d < 0.0).count();
    let pick = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
    storage.pool().close().await;
    Some(Latency {
        poll_ms: u64::try_from(poll.as_millis()).unwrap(),
        jobs,
        p50: pick(0.50),
        p90: pick(0.90),
        p99: pick(0.99),
        max: delays[delays.len() - 1],
        early,
    })
}

// ----------------------------------------------------------------- main

struct Args {
    jobs: usize,
    rounds: usize,
    latency_jobs: usize,
    latency_rate: u32,
}

fn args() -> Args {
    let mut parsed = Args {
        jobs: 5000,
        rounds: 2,
        latency_jobs: 500,
        latency_rate: 100,
    };
    // `cargo bench` passes `--bench`; `cargo test --benches` does not:
    // then a quick smoke run checks that the bench still works.
    if !std::env::args().any(|a| a == "--bench") {
        parsed = Args {
            jobs: 200,
            rounds: 1,
            latency_jobs: 20,
            latency_rate: 100,
        };
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("{arg} needs a number"))
        };
        match arg.as_str() {
            "--jobs" => parsed.jobs = value(),
            "--rounds" => parsed.rounds = value(),
            "--latency-jobs" => parsed.latency_jobs = value(),
            "--latency-rate" => parsed.latency_rate = u32::try_from(value()).unwrap(),
            // `--bench`, and filters (not supported).
            _ => {}
        }
    }
    parsed
}

fn skipped() {
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! NOTIFICATION BENCH SKIPPED: no PostgreSQL (SUPPORT_SKIP_POSTGRES=1).\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut rows = Vec::new();
        for round in 1..=args.rounds {
            // Alternate the order so neither count always runs first.
            let order = if round % 2 == 1 { [1, 4] } else { [4, 1] };
            for workers in order {
                eprintln!("round {round}: {workers} worker(s), {} jobs", args.jobs);
                let Some(result) = throughput(workers, args.jobs).await else {
                    skipped();
                    return;
                };
                eprintln!(
                    "  {:.0} jobs/s",
                    result.jobs as f64 / result.seconds
                );
                rows.push((round, result));
            }
        }
        let mut latencies = Vec::new();
        for poll in [500, 10] {
            eprintln!(
                "latency: {} jobs at {}/s, poll interval {poll} ms",
                args.latency_jobs, args.latency_rate
            );
            let Some(result) = latency(
                args.latency_jobs,
                args.latency_rate,
                StdDuration::from_millis(poll),
            )
            .await
            else {
                skipped();
                return;
            };
            latencies.push(result);
        }

        println!("\n| round | workers | jobs | seconds | jobs delivered/s |");
        println!("|---|---|---|---|---|");
        for (round, r) in &rows {
            println!(
                "| {round} | {} | {} | {:.2} | {:.0} |",
                r.workers,
                r.jobs,
                r.seconds,
                r.jobs as f64 / r.seconds
            );
        }
        println!(
            "\n| poll interval | jobs | commit -> delivery p50 | p90 | p99 | max | delivered before send returned |"
        );
        println!("|---|---|---|---|---|---|---|");
        for l in &latencies {
            println!(
                "| {} ms | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} |",
                l.poll_ms, l.jobs, l.p50, l.p90, l.p99, l.max, l.early
            );
        }
        println!("\nevery job delivered exactly once (counted by webhook-id at the receiver)");
    });
}
