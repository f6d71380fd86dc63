//! Memory per idle live connection: server RSS before and after opening
//! many event streams that receive nothing.

use std::time::Duration;

use crate::server::Server;

pub(crate) async fn run(
    server: &Server,
    connections: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    // Warm the server up so one-time allocations are not counted.
    let warm = client
        .get(format!("{}/events", server.base()))
        .bearer_auth(server.token("idle-warm", false))
        .send()
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_kib();
    let mut open = Vec::with_capacity(connections);
    for n in 0..connections {
        let admin = n % 10 == 0;
        let id = format!("idle-{n}");
        open.push(
            client
                .get(format!("{}/events", server.base()))
                .bearer_auth(server.token(&id, admin))
                .send()
                .await?
                .error_for_status()?,
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.rss_kib();
    let per = (after.saturating_sub(before)) as f64 / connections as f64;
    println!(
        "idle: {connections} live connections: server RSS {before} KiB -> {after} KiB, {per:.1} KiB per connection"
    );
    drop(open);
    drop(warm);
    Ok(())
}
