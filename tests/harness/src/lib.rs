//! Test plumbing shared by the workspace's suites.
//!
//! PostgreSQL: with `DATABASE_URL` set, tests use that server (point it at a
//! disposable database: each test creates a schema of its own there).
//! Otherwise the first test that needs PostgreSQL starts a throwaway cluster
//! (`initdb` + `postgres` from `PG_BIN`, `pg_config --bindir` or
//! `/usr/lib/postgresql/*/bin`) on a free loopback port, owned by this test
//! process and removed when it exits. Without either, tests fail, unless
//! `SUPPORT_SKIP_POSTGRES=1`, in which case they are skipped with a loud
//! warning.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

/// The URL of the PostgreSQL server the tests use, or `None` when
/// PostgreSQL tests are explicitly skipped.
pub fn postgres_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Some(url);
        }
        match find_postgres_bin() {
            Some(bin) => Some(start_throwaway_cluster(&bin)),
            None if std::env::var("SUPPORT_SKIP_POSTGRES").as_deref() == Ok("1") => {
                eprintln!(
                    "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                     !!! SKIPPING POSTGRESQL TESTS: no DATABASE_URL and no server binaries\n\
                     !!! (SUPPORT_SKIP_POSTGRES=1). Only SQLite was tested.\n\
                     !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
                );
                None
            }
            None => panic!(
                "PostgreSQL tests need DATABASE_URL or PostgreSQL server binaries \
                 (set PG_BIN, or install postgresql). Set SUPPORT_SKIP_POSTGRES=1 to skip them."
            ),
        }
    })
    .clone()
}

/// A pool on a fresh, empty schema of its own (so tests run in parallel
/// without seeing each other's rows), or `None` when PostgreSQL tests are
/// skipped.
pub async fn postgres_pool() -> Option<PgPool> {
    let url = postgres_url()?;
    let schema = create_schema(&url).await;
    let options = PgConnectOptions::from_str(&url)
        .expect("valid DATABASE_URL")
        .options([("search_path", schema.as_str())]);
    Some(
        PgPoolOptions::new()
            .max_connections(20)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .expect("connect test pool"),
    )
}

/// Creates a fresh, uniquely named schema and returns its name.
async fn create_schema(url: &str) -> String {
    let schema = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .expect("create test schema");
    admin.close().await.ok();
    schema
}

/// A URL of the PostgreSQL server whose connections use a fresh, empty
/// schema of their own (`options=-c search_path=...`), for code that takes
/// a URL rather than a pool. `None` when PostgreSQL tests are skipped.
pub async fn postgres_schema_url() -> Option<String> {
    let url = postgres_url()?;
    let schema = create_schema(&url).await;
    let separator = if url.contains('?') { '&' } else { '?' };
    Some(format!(
        "{url}{separator}options=-c%20search_path%3D{schema}"
    ))
}

/// A fresh SQLite database file in a temporary directory, deleted when the
/// returned guard drops.
pub struct TempSqlite {
    dir: PathBuf,
}

impl TempSqlite {
    /// Makes the directory.
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("support-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self { dir }
    }

    /// `sqlite:` URL of the database file.
    pub fn url(&self) -> String {
        format!("sqlite:{}", self.dir.join("support.db").display())
    }
}

impl Default for TempSqlite {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn find_postgres_bin() -> Option<PathBuf> {
    if let Ok(bin) = std::env::var("PG_BIN") {
        return Some(PathBuf::from(bin));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("postgres").exists())
        .collect();
    candidates.sort();
    candidates.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a server binary, as the `postgres` user when we are root
/// (`initdb` and `postgres` refuse to run as root).
fn server_command(bin: &Path, program: &str, as_postgres: bool) -> Command {
    let exe = bin.join(program);
    if as_postgres {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(exe);
        cmd
    } else {
        Command::new(exe)
    }
}

fn start_throwaway_cluster(bin: &Path) -> String {
    Cluster::start(bin).url()
}

/// A PostgreSQL cluster of this test process's own, stopped and removed
/// when the process exits.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn start(bin: &Path) -> Self {
        let as_postgres = is_root();
        let dir =
            std::env::temp_dir().join(format!("support-pg-{}", uuid::Uuid::new_v4().simple()));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).expect("create cluster dir");
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown cluster dir");
            assert!(
                status.success(),
                "chown {} to postgres failed",
                dir.display()
            );
        }
        let init = server_command(bin, "initdb", as_postgres)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .stdout(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );

        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        // The watchdog owns the server: it starts it, waits for this test
        // process to exit, then stops it (whichever postmaster runs by then)
        // and removes the cluster.
        let server = server_command(bin, "postgres", as_postgres);
        let server_line = format!(
            "{} -D {} -p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
             -c shared_buffers=128MB",
            shell_words(&server),
            data.display(),
            dir.display(),
        );
        let script = format!(
            "{server_line} >{log} 2>&1 & \
             while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             kill -INT $(head -1 {data}/postmaster.pid) 2>/dev/null; sleep 1; rm -rf {dir}",
            log = dir.join("server.log").display(),
            pid = std::process::id(),
            data = data.display(),
            dir = dir.display(),
        );
        // Detached on purpose: it must outlive this process to clean up after it.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres watchdog");
        let cluster = Self {
            bin: bin.to_owned(),
            dir,
            data,
            port,
            as_postgres,
        };
        cluster.wait_ready();
        cluster
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start; see {}",
                self.dir.join("server.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Accepting TCP is not yet accepting queries: wait for a real login.
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-U", "postgres", "-p"])
                .arg(self.port.to_string())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "PostgreSQL never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Restarts the server (`pg_ctl restart -m fast`: every connection is
    /// cut) and waits until it accepts queries again.
    fn restart(&self) {
        let status = server_command(&self.bin, "pg_ctl", self.as_postgres)
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            // Not server.log: the watchdog's shell (root) created that one.
            .arg(self.dir.join("restarted.log"))
            .args(["-m", "fast", "-w", "restart"])
            .stdout(Stdio::null())
            .status()
            .expect("run pg_ctl");
        assert!(status.success(), "pg_ctl restart failed");
        self.wait_ready();
    }
}

/// A PostgreSQL server that a test may restart: a cluster of its own
/// (never the shared one, or `DATABASE_URL`), removed when the test process
/// exits. `None` when PostgreSQL tests are skipped or only `DATABASE_URL`
/// is available (a test cannot restart that server).
pub struct RestartablePostgres {
    cluster: Cluster,
}

impl RestartablePostgres {
    /// Starts one.
    pub fn start() -> Option<Self> {
        if std::env::var("DATABASE_URL").is_ok() {
            eprintln!("no restartable PostgreSQL with DATABASE_URL set: test skipped");
            return None;
        }
        // Without server binaries: skipped (or a failure) exactly as the
        // shared cluster would be, without starting one.
        let Some(bin) = find_postgres_bin() else {
            return postgres_url().and(None);
        };
        Some(Self {
            cluster: Cluster::start(&bin),
        })
    }

    /// Its URL.
    pub fn url(&self) -> String {
        self.cluster.url()
    }

    /// Restarts it, cutting every connection; returns once it answers.
    pub fn restart(&self) {
        self.cluster.restart();
    }
}

fn shell_words(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
