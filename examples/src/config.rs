//! Configuration: flags, or the environment.

use std::net::SocketAddr;

use clap::Parser;

/// The example support desk.
#[derive(Clone, Debug, Parser)]
#[command(name = "support-example", version, about)]
pub struct Config {
    /// Database: a `sqlite:` or `postgres://` URL.
    #[arg(
        long,
        env = "SUPPORT_DATABASE_URL",
        default_value = "sqlite:support.db"
    )]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "SUPPORT_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,

    /// HS256 secret shared with the host app that mints tokens. Without
    /// it, the server runs in demo mode with a random secret and demo users.
    #[arg(long, env = "SUPPORT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// How long live-event history is kept for reconnecting clients.
    #[arg(long, env = "SUPPORT_EVENT_RETENTION_HOURS", default_value_t = 72)]
    pub event_retention_hours: u32,

    /// SQLite durability: `normal` (safe against a process crash; the
    /// default) or `full` (also against power loss; slower).
    #[arg(long, env = "SUPPORT_SQLITE_SYNCHRONOUS", default_value = "normal")]
    pub sqlite_synchronous: String,

    /// Log format: `text` or `json`.
    #[arg(long, env = "SUPPORT_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}
