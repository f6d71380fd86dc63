//! `support-load`: measures the example server over real HTTP.
//!
//! It starts `support-example` (the sibling binary, built with
//! `cargo build --release -p support-example`) as a child process on a free
//! loopback port, so server CPU and memory are separate from the load
//! generator's, then runs one scenario:
//!
//! - `sends`: concurrent users posting messages; throughput and latency.
//! - `fanout`: many live subscribers; time from a POST to its delivery at
//!   every subscriber it concerns.
//! - `idle`: memory per idle live connection.
//! - `typing`: many users sending typing signals; server CPU beside the
//!   same connections idle, and POST-to-admin latency.

mod fanout;
mod idle;
mod sends;
mod server;
mod stats;
mod typing;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "support-load", about = "Load scenarios for the support desk")]
struct Cli {
    /// Database URL for the server (default: a fresh SQLite file in /tmp).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// SQLite durability for the server: normal or full.
    #[arg(long, global = true, default_value = "normal")]
    sqlite_synchronous: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Concurrent users sending messages.
    Sends {
        /// Concurrent users, each with its own conversation.
        #[arg(long, default_value_t = 50)]
        users: usize,
        /// Seconds to measure (after a one-second warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Live fan-out latency.
    Fanout {
        /// Live subscribers in all.
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        /// How many of them are admins (who receive every event).
        #[arg(long, default_value_t = 50)]
        admins: usize,
        /// Messages to post, one at a time.
        #[arg(long, default_value_t = 300)]
        posts: usize,
        /// Pause between posts, in milliseconds.
        #[arg(long, default_value_t = 20)]
        interval_ms: u64,
    },
    /// Typing signals from many users with their chat open.
    Typing {
        /// Users, each with a conversation and a live stream.
        #[arg(long, default_value_t = 1000)]
        users: usize,
        /// Admins with a live stream (they receive every signal).
        #[arg(long, default_value_t = 5)]
        admins: usize,
        /// Each user sends a signal this often, in milliseconds.
        #[arg(long, default_value_t = 3000)]
        every_ms: u64,
        /// Seconds to measure (and as long again for the idle baseline).
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
    /// Memory per idle live connection.
    Idle {
        /// Idle connections to open.
        #[arg(long, default_value_t = 1000)]
        connections: usize,
    },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let server = server::Server::spawn(cli.database_url.clone(), &cli.sqlite_synchronous).await?;
    println!(
        "server: pid {} at {} on {}",
        server.pid(),
        server.base(),
        server.database_url()
    );
    let outcome = match cli.scenario {
        Scenario::Sends { users, seconds } => sends::run(&server, users, seconds).await,
        Scenario::Fanout {
            subscribers,
            admins,
            posts,
            interval_ms,
        } => fanout::run(&server, subscribers, admins, posts, interval_ms).await,
        Scenario::Idle { connections } => idle::run(&server, connections).await,
        Scenario::Typing {
            users,
            admins,
            every_ms,
            seconds,
        } => typing::run(&server, users, admins, every_ms, seconds).await,
    };
    server.stop();
    outcome
}
