//! Typing at scale: many users with their chat open, each sending a typing
//! signal every few seconds, and a few admins receiving them all. Measures
//! server CPU (beside the same connections idle for as long, in the same
//! run), memory, and the time from a user's POST to the signal at an admin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::server::Server;
use crate::stats::{ms, numbers_after, summarize};

pub(crate) async fn run(
    server: &Server,
    users: usize,
    admins: usize,
    every_ms: u64,
    seconds: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let base = server.base().to_owned();
    let mut conversations = Vec::with_capacity(users);
    for n in 0..users {
        let sent: serde_json::Value = client
            .post(format!("{base}/messages"))
            .bearer_auth(server.token(&format!("typer-{n}"), false))
            .json(&serde_json::json!({ "content": "hello" }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        conversations.push(
            sent["conversation"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }

    // Every user has the chat open; admins follow everything.
    let (arrivals, mut arrived) = mpsc::unbounded_channel::<(usize, Instant)>();
    let mut streams = Vec::new();
    for n in 0..users {
        let response = client
            .get(format!("{base}/events"))
            .bearer_auth(server.token(&format!("typer-{n}"), false))
            .send()
            .await?
            .error_for_status()?;
        streams.push(tokio::spawn(async move {
            let mut body = response.bytes_stream();
            while body.next().await.is_some() {}
        }));
    }
    for a in 0..admins {
        let response = client
            .get(format!("{base}/events"))
            .bearer_auth(server.token(&format!("typing-admin-{a}"), true))
            .send()
            .await?
            .error_for_status()?;
        let arrivals = arrivals.clone();
        streams.push(tokio::spawn(async move {
            let mut body = response.bytes_stream();
            while let Some(Ok(chunk)) = body.next().await {
                let now = Instant::now();
                if a == 0 {
                    for typer in
                        numbers_after(&String::from_utf8_lossy(&chunk), "\"user_id\":\"typer-")
                    {
                        let _ = arrivals.send((typer, now));
                    }
                }
            }
        }));
    }
    drop(arrivals);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let measure = Duration::from_secs(seconds);

    // Baseline: the same connections, idle, for as long.
    let rss_idle = server.rss_kib();
    let cpu_before_idle = server.cpu_seconds();
    tokio::time::sleep(measure).await;
    let idle_cpu = server.cpu_seconds() - cpu_before_idle;

    // Typing: each user every `every_ms`, spread evenly.
    let sent_at: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let every = Duration::from_millis(every_ms);
    let post_client = reqwest::Client::builder()
        .pool_max_idle_per_host(users)
        .build()?;
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    let mut typers_tasks = Vec::with_capacity(users);
    for (n, conversation) in conversations.iter().enumerate() {
        let url = format!("{base}/conversations/{conversation}/typing");
        let token = server.token(&format!("typer-{n}"), false);
        let client = post_client.clone();
        let sent_at = Arc::clone(&sent_at);
        let offset = every.mul_f64(n as f64 / users as f64);
        typers_tasks.push(tokio::spawn(async move {
            let mut errors = 0usize;
            let mut signals = 0usize;
            tokio::time::sleep(offset).await;
            let mut ticks = tokio::time::interval(every);
            while started.elapsed() < measure {
                ticks.tick().await;
                sent_at
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(n, Instant::now());
                match client.post(&url).bearer_auth(&token).send().await {
                    Ok(r) if r.status().as_u16() == 204 => signals += 1,
                    _ => errors += 1,
                }
            }
            (signals, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut signals = 0;
    let mut errors = 0;
    for task in typers_tasks {
        let (ok, failed) = task.await?;
        signals += ok;
        errors += failed;
    }
    let elapsed = started.elapsed();
    let typing_cpu = server.cpu_seconds() - cpu_before;
    let rss_typing = server.rss_kib();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for stream in &streams {
        stream.abort();
    }
    let sent_at = sent_at.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut received = 0;
    while let Ok((typer, at)) = arrived.try_recv() {
        received += 1;
        // The latest signal of each typer is the one its arrival matches
        // (one every `every_ms`, far longer than delivery takes).
        if let Some(sent) = sent_at.get(&typer)
            && at >= *sent
        {
            latencies.push(at.duration_since(*sent));
        }
    }
    let summary = summarize(latencies);
    let core = |cpu: f64, over: Duration| 100.0 * cpu / over.as_secs_f64();
    println!(
        "typing: {users} users with a stream open, {admins} admins; one signal per user every {every_ms} ms for {:.1} s: \
         {signals} accepted, {errors} failed, {received} delivered to the first admin",
        elapsed.as_secs_f64()
    );
    println!(
        "typing: server CPU {:.1}% of one core (idle baseline, same connections: {:.1}%), {:.0} us per signal over the baseline",
        core(typing_cpu, elapsed),
        core(idle_cpu, measure),
        (typing_cpu - idle_cpu * elapsed.as_secs_f64() / measure.as_secs_f64()) * 1e6
            / signals.max(1) as f64
    );
    println!(
        "typing: POST-to-admin p50 {} p90 {} p99 {} max {}; server RSS idle {rss_idle} KiB, after typing {rss_typing} KiB",
        ms(summary.p50),
        ms(summary.p90),
        ms(summary.p99),
        ms(summary.max)
    );
    Ok(())
}
