//! Concurrent users posting messages as fast as the server answers.

use std::time::{Duration, Instant};

use crate::server::Server;
use crate::stats::{ms, summarize};

pub(crate) async fn run(
    server: &Server,
    users: usize,
    seconds: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(users)
        .build()?;
    let warmup = Duration::from_secs(1);
    let measure = Duration::from_secs(seconds);
    let start = Instant::now();
    let cpu_at_start = server.cpu_seconds();
    let tasks: Vec<_> = (0..users)
        .map(|n| {
            let client = client.clone();
            let url = format!("{}/messages", server.base());
            let token = server.token(&format!("load-user-{n}"), false);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                let mut i = 0u64;
                loop {
                    let now = Instant::now();
                    if now - start > warmup + measure {
                        break;
                    }
                    i += 1;
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&serde_json::json!({
                            "content": format!("load message {i} from user {n}"),
                            "client_id": format!("u{n}-{i}"),
                        }))
                        .send()
                        .await;
                    let ok = matches!(&response, Ok(r) if r.status().as_u16() == 201);
                    if let Ok(r) = response {
                        let _ = r.bytes().await;
                    }
                    if sent - start >= warmup {
                        if ok {
                            latencies.push(sent.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, failed) = task.await?;
        all.extend(latencies);
        errors += failed;
    }
    let cpu = server.cpu_seconds() - cpu_at_start;
    let summary = summarize(all);
    let rate = summary.count as f64 / measure.as_secs_f64();
    let total = summary.count + errors;
    println!(
        "sends: {users} users, {seconds} s: {} ok, {errors} failed, {rate:.0}/s; latency p50 {} p90 {} p99 {} max {}",
        summary.count,
        ms(summary.p50),
        ms(summary.p90),
        ms(summary.p99),
        ms(summary.max)
    );
    println!(
        "sends: server CPU {cpu:.2} s for about {total} requests (incl. warm-up share): {:.0} us per request",
        cpu * 1e6 / (total as f64 * (1.0 + warmup.as_secs_f64() / measure.as_secs_f64()))
    );
    Ok(())
}
