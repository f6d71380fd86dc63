//! Concurrent users posting messages as fast as the server answers. After
//! the run, every user's conversation must hold exactly the messages the
//! server acknowledged: a fast server that loses a write fails the run.

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
    // Client ids unique to this run: on a database reused from an earlier
    // run, the same ids would be replays (200, the original message).
    let run = uuid::Uuid::new_v4().simple().to_string();
    let stored_before = stored_per_user(server, &client, users).await?;
    let tasks: Vec<_> = (0..users)
        .map(|n| {
            let client = client.clone();
            let url = format!("{}/messages", server.base());
            let token = server.token(&format!("load-user-{n}"), false);
            let run = run.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                let mut created = 0i64;
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
                            "client_id": format!("{}-u{n}-{i}", &run[..12]),
                        }))
                        .send()
                        .await;
                    let ok = matches!(&response, Ok(r) if r.status().as_u16() == 201);
                    created += i64::from(ok);
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
                (latencies, errors, created)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    let mut created_per_user = Vec::with_capacity(users);
    for task in tasks {
        let (latencies, failed, created) = task.await?;
        all.extend(latencies);
        errors += failed;
        created_per_user.push(created);
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
    check_nothing_lost(server, &client, &stored_before, &created_per_user, errors).await
}

/// Each user's stored message count, before the run (a reused database
/// already holds some).
async fn stored_per_user(
    server: &Server,
    client: &reqwest::Client,
    users: usize,
) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    let mut counts = Vec::with_capacity(users);
    for n in 0..users {
        let token = server.token(&format!("load-user-{n}"), false);
        let page: serde_json::Value = client
            .get(format!("{}/conversations?limit=100", server.base()))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        counts.push(
            page["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|c| c["message_count"].as_i64())
                        .sum()
                })
                .unwrap_or_default(),
        );
    }
    Ok(counts)
}

/// Each user's new stored messages against the sends the server answered
/// 201 to (exact when no request failed, since a failed one may or may not
/// have committed).
async fn check_nothing_lost(
    server: &Server,
    client: &reqwest::Client,
    stored_before: &[i64],
    created_per_user: &[i64],
    errors: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let stored_after = stored_per_user(server, client, created_per_user.len()).await?;
    let mut stored_total = 0i64;
    for (n, created) in created_per_user.iter().enumerate() {
        let stored = stored_after[n] - stored_before[n];
        stored_total += stored;
        if errors == 0 && stored != *created {
            return Err(format!(
                "load-user-{n}: the server acknowledged {created} sends but stored {stored} new messages"
            )
            .into());
        }
    }
    let acknowledged: i64 = created_per_user.iter().sum();
    println!(
        "sends: checked: {stored_total} messages stored for {acknowledged} acknowledged sends{}",
        if errors == 0 {
            " (exact per user)"
        } else {
            " (failed requests may have committed)"
        }
    );
    Ok(())
}
