//! Live fan-out: many subscribers; time from a POST to its delivery at every
//! subscriber it concerns (the poster's own streams and every admin).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::server::Server;
use crate::stats::{ms, numbers_after, summarize};

pub(crate) async fn run(
    server: &Server,
    subscribers: usize,
    admins: usize,
    posts: usize,
    interval_ms: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let users = subscribers.saturating_sub(admins).max(1);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;

    // Every user opens a conversation first (not measured).
    for n in 0..users {
        client
            .post(format!("{}/messages", server.base()))
            .bearer_auth(server.token(&format!("fan-user-{n}"), false))
            .json(&serde_json::json!({ "content": "hello" }))
            .send()
            .await?
            .error_for_status()?;
    }

    let (arrivals, mut arrived) = mpsc::unbounded_channel::<(usize, usize, Instant)>();
    let mut streams = Vec::new();
    for s in 0..subscribers {
        let admin = s < admins;
        let id = if admin {
            format!("fan-admin-{s}")
        } else {
            format!("fan-user-{}", s - admins)
        };
        let response = client
            .get(format!("{}/events", server.base()))
            .bearer_auth(server.token(&id, admin))
            .send()
            .await?
            .error_for_status()?;
        let arrivals = arrivals.clone();
        streams.push(tokio::spawn(async move {
            let mut body = response.bytes_stream();
            while let Some(Ok(chunk)) = body.next().await {
                let now = Instant::now();
                let text = String::from_utf8_lossy(&chunk);
                for post in numbers_after(&text, "\"content\":\"load-") {
                    let _ = arrivals.send((post, s, now));
                }
            }
        }));
    }
    drop(arrivals);
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("fanout: {subscribers} subscribers connected ({admins} admins, {users} users)");

    let mut sent_at: HashMap<usize, (Instant, usize)> = HashMap::new();
    let post_client = reqwest::Client::new();
    let tokens: Vec<String> = (0..users)
        .map(|n| server.token(&format!("fan-user-{n}"), false))
        .collect();
    let started = Instant::now();
    let cpu_at_start = server.cpu_seconds();
    for post in 0..posts {
        let poster = post % users;
        let at = Instant::now();
        sent_at.insert(post, (at, poster));
        post_client
            .post(format!("{}/messages", server.base()))
            .bearer_auth(&tokens[poster])
            .json(&serde_json::json!({ "content": format!("load-{post}") }))
            .send()
            .await?
            .error_for_status()?;
        tokio::time::sleep(Duration::from_millis(interval_ms)).await;
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu = server.cpu_seconds() - cpu_at_start;
    for stream in &streams {
        stream.abort();
    }

    let mut latencies = Vec::new();
    let mut delivered: HashMap<(usize, usize), ()> = HashMap::new();
    let mut wrong = 0;
    while let Ok((post, subscriber, at)) = arrived.try_recv() {
        let Some((sent, poster)) = sent_at.get(&post) else {
            continue;
        };
        let concerned = subscriber < admins || subscriber - admins == *poster;
        if !concerned {
            wrong += 1;
            continue;
        }
        if delivered.insert((post, subscriber), ()).is_none() {
            latencies.push(at.duration_since(*sent));
        }
    }
    let expected = posts * (admins + 1);
    let summary = summarize(latencies);
    println!(
        "fanout: {posts} posts in {:.1} s, {} of {expected} deliveries, {wrong} to the wrong subscriber; \
         POST-to-delivery p50 {} p90 {} p99 {} max {}",
        elapsed.as_secs_f64(),
        summary.count,
        ms(summary.p50),
        ms(summary.p90),
        ms(summary.p99),
        ms(summary.max)
    );
    println!(
        "fanout: server CPU {:.0} us per post (write + fan-out to {} streams)",
        cpu * 1e6 / posts as f64,
        admins + 1
    );
    Ok(())
}
