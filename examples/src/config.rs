//! Configuration: flags, or the environment.

use std::net::SocketAddr;

use clap::Parser;

/// The example support desk.
#[derive(Clone, Parser)]
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

    /// Seconds a user has to see an admin's reply before being notified
    /// (also the team-alert window).
    #[arg(long, env = "SUPPORT_NOTIFY_DELAY_SECS", default_value_t = 120)]
    pub notify_delay_secs: u32,

    /// Team alerts go to this webhook (signed with `SUPPORT_WEBHOOK_SECRET`).
    /// Without it, alerts go to the log.
    #[arg(long, env = "SUPPORT_WEBHOOK_URL", hide_env_values = true)]
    pub webhook_url: Option<String>,

    /// The webhook signing secret (`whsec_<base64>` or raw text).
    #[arg(long, env = "SUPPORT_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// SMTP server for reply emails: `smtp://127.0.0.1:2525` (plain),
    /// `smtp://host:587?tls=required` (STARTTLS) or `smtps://host:465`;
    /// credentials as `smtp://user:password@host`. With
    /// `SUPPORT_EMAIL_FROM`, users are emailed about replies they have not
    /// seen; without, those notifications go to the log.
    #[arg(long, env = "SUPPORT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender address of reply emails (`support@example.com` or
    /// `Support <support@example.com>`).
    #[arg(long, env = "SUPPORT_EMAIL_FROM", hide_env_values = true)]
    pub email_from: Option<String>,

    /// Seconds an admin stays online after their last page closes (also
    /// how long one server's presence report counts, so a server that
    /// died takes its admins offline after this long).
    #[arg(long, env = "SUPPORT_PRESENCE_GRACE_SECS", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub presence_grace_secs: u32,

    /// Seconds without activity after which an admin shows as away.
    #[arg(long, env = "SUPPORT_AWAY_AFTER_SECS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=86400))]
    pub away_after_secs: u32,

    /// Milliseconds a typing indicator shows without a newer signal.
    #[arg(long, env = "SUPPORT_TYPING_EXPIRY_MS", default_value_t = 6000, value_parser = clap::value_parser!(u32).range(500..=60000))]
    pub typing_expiry_ms: u32,

    /// Show users the name of the admin who types ("Ada is typing")
    /// instead of "Support is typing".
    #[arg(long, env = "SUPPORT_ADMIN_NAMES_TO_USERS")]
    pub admin_names_to_users: bool,

    /// The address users reach this server at, for links in emails
    /// (e.g. `https://example.com`). Default: `http://` and the bound
    /// address.
    #[arg(long, env = "SUPPORT_PUBLIC_URL")]
    pub public_url: Option<String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("database_url", &"<redacted>")
            .field("bind", &self.bind)
            .field("jwt_secret", &redacted(&self.jwt_secret))
            .field("event_retention_hours", &self.event_retention_hours)
            .field("sqlite_synchronous", &self.sqlite_synchronous)
            .field("log_format", &self.log_format)
            .field("notify_delay_secs", &self.notify_delay_secs)
            .field("webhook_url", &redacted(&self.webhook_url))
            .field("webhook_secret", &redacted(&self.webhook_secret))
            .field("smtp_url", &redacted(&self.smtp_url))
            .field("email_from", &redacted(&self.email_from))
            .field("public_url", &self.public_url)
            .field("presence_grace_secs", &self.presence_grace_secs)
            .field("away_after_secs", &self.away_after_secs)
            .field("typing_expiry_ms", &self.typing_expiry_ms)
            .field("admin_names_to_users", &self.admin_names_to_users)
            .finish()
    }
}
