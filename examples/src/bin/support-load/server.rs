//! The server under test, as a child process.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use support_axum::JwtIdentity;
use support_axum::auth::{Claims, ClaimsRole};

const SECRET: &str = "support-load-secret-not-for-production-use";

pub(crate) struct Server {
    child: Child,
    base: String,
    database_url: String,
    identity: JwtIdentity,
}

impl Server {
    pub(crate) async fn spawn(
        database_url: Option<String>,
        synchronous: &str,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let exe = std::env::current_exe()?
            .parent()
            .ok_or("no binary directory")?
            .join("support-example");
        if !exe.exists() {
            return Err(format!(
                "{} not found: build it first (cargo build --release -p support-example)",
                exe.display()
            )
            .into());
        }
        let database_url = database_url.unwrap_or_else(|| {
            format!(
                "sqlite:/tmp/support-load-{}.db",
                uuid::Uuid::new_v4().simple()
            )
        });
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(exe)
            .env("SUPPORT_DATABASE_URL", &database_url)
            .env("SUPPORT_BIND", format!("127.0.0.1:{port}"))
            .env("SUPPORT_JWT_SECRET", SECRET)
            .env("SUPPORT_SQLITE_SYNCHRONOUS", synchronous)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?;
        let base = format!("http://127.0.0.1:{port}/api/support");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client.get(format!("{base}/openapi.json")).send().await
                && response.status().is_success()
            {
                break;
            }
            if Instant::now() > deadline {
                return Err("the server did not come up".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self {
            child,
            base,
            database_url,
            identity: JwtIdentity::hs256(SECRET),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn database_url(&self) -> &str {
        &self.database_url
    }

    pub(crate) fn token(&self, id: &str, admin: bool) -> String {
        self.identity
            .issue(&Claims {
                sub: id.to_owned(),
                role: if admin {
                    ClaimsRole::Admin
                } else {
                    ClaimsRole::User
                },
                exp: (Utc::now() + chrono::Duration::hours(2)).timestamp(),
                name: None,
                email: None,
                phone: None,
            })
            .expect("issue token")
    }

    /// Resident memory of the server process, in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|line| line.starts_with("VmRSS:"))
                    .and_then(|line| line.split_whitespace().nth(1))
                    .and_then(|kib| kib.parse().ok())
            })
            .unwrap_or(0)
    }

    /// CPU time the server process used so far (user + system), seconds.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        let ticks_per_second = 100.0; // USER_HZ on Linux
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .ok()
            .and_then(|stat| {
                // Fields after the parenthesised command name; utime and
                // stime are the 14th and 15th fields of the whole line.
                let rest = stat.rsplit_once(')')?.1;
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let utime: f64 = fields.get(11)?.parse().ok()?;
                let stime: f64 = fields.get(12)?.parse().ok()?;
                Some((utime + stime) / ticks_per_second)
            })
            .unwrap_or(0.0)
    }

    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
