//! End-to-end fixture: the example server started in-process on a real
//! loopback socket, over SQLite or PostgreSQL, driven with a real HTTP
//! client.
#![allow(missing_docs, unreachable_pub)]

use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use support_axum::JwtIdentity;
use support_axum::auth::{Claims, ClaimsRole};
use support_example::{API_BASE, Config, Running};
use support_test_harness::TempSqlite;

pub const SECRET: &str = "end-to-end-test-secret-of-reasonable-length";

/// Which database a server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running example server and the database it owns.
pub struct Server {
    running: Running,
    database_url: String,
    _file: Option<TempSqlite>,
    pub backend: Backend,
}

/// Runs each listed `async fn(Server)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::Server::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(server) = $crate::Server::postgres().await {
                        super::$test(server).await;
                    }
                }
            )*
        }
    };
}

/// The example server's configuration for the tests, on `database_url`.
pub fn config(database_url: &str) -> Config {
    Config {
        database_url: database_url.to_owned(),
        bind: "127.0.0.1:0".parse().expect("address"),
        jwt_secret: Some(SECRET.to_owned()),
        event_retention_hours: 72,
        sqlite_synchronous: "normal".to_owned(),
        log_format: "text".to_owned(),
        notify_delay_secs: 120,
        webhook_url: None,
        webhook_secret: None,
        smtp_url: None,
        email_from: None,
        public_url: None,
        // Short, so tests of presence ending do not wait long.
        presence_grace_secs: PRESENCE_GRACE_SECS,
        away_after_secs: 300,
        typing_expiry_ms: 6000,
        admin_names_to_users: false,
    }
}

/// The grace period of presence in the test servers.
pub const PRESENCE_GRACE_SECS: u32 = 2;

impl Server {
    pub async fn sqlite() -> Self {
        let file = TempSqlite::new();
        let url = file.url();
        Self::start(url, Some(file), Backend::Sqlite).await
    }

    pub async fn postgres() -> Option<Self> {
        let url = support_test_harness::postgres_schema_url().await?;
        Some(Self::start(url, None, Backend::Postgres).await)
    }

    async fn start(database_url: String, file: Option<TempSqlite>, backend: Backend) -> Self {
        let running = support_example::start(&config(&database_url))
            .await
            .unwrap_or_else(|e| panic!("start server on {database_url}: {e:?}"));
        Self {
            running,
            database_url,
            _file: file,
            backend,
        }
    }

    /// Stops the server gracefully and starts a new one on the same
    /// database (and a new port).
    pub async fn restart(self) -> Self {
        let Self {
            running,
            database_url,
            _file,
            backend,
        } = self;
        running.stop().await.expect("graceful stop");
        Self::start(database_url, _file, backend).await
    }

    /// The core service behind the server (to check what was stored).
    pub fn support(&self) -> &support_core::Support {
        self.running.api.support()
    }

    /// The API base URL, e.g. `http://127.0.0.1:1234/api/support`.
    pub fn api(&self) -> String {
        format!("{}{API_BASE}", self.running.base_url())
    }

    pub fn user(&self, id: &str) -> Actor {
        self.actor(token(id, ClaimsRole::User))
    }

    pub fn admin(&self, id: &str) -> Actor {
        self.actor(token(id, ClaimsRole::Admin))
    }

    /// A user whose token carries contact details, as a host's would.
    pub fn user_with_email(&self, id: &str, email: &str) -> Actor {
        let mut claims = claims(id, ClaimsRole::User);
        claims.email = Some(email.to_owned());
        let token = JwtIdentity::hs256(SECRET).issue(&claims).expect("issue");
        self.actor(token)
    }

    /// A user whose token carries a display name.
    pub fn user_named(&self, id: &str, name: &str) -> Actor {
        let mut claims = claims(id, ClaimsRole::User);
        claims.name = Some(name.to_owned());
        let token = JwtIdentity::hs256(SECRET).issue(&claims).expect("issue");
        self.actor(token)
    }

    /// No credentials at all.
    pub fn anonymous(&self) -> Actor {
        Actor {
            api: self.api(),
            auth: Auth::None,
            http: client(),
        }
    }

    /// A bearer token that does not verify.
    pub fn forged(&self, id: &str) -> Actor {
        let forged = JwtIdentity::hs256("some-other-secret")
            .issue(&claims(id, ClaimsRole::Admin))
            .expect("issue");
        self.actor(forged)
    }

    /// Authenticated by the `support_token` cookie, as the pages are.
    pub fn cookie_user(&self, id: &str) -> Actor {
        Actor {
            api: self.api(),
            auth: Auth::Cookie(token(id, ClaimsRole::User)),
            http: client(),
        }
    }

    fn actor(&self, token: String) -> Actor {
        Actor {
            api: self.api(),
            auth: Auth::Bearer(token),
            http: client(),
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

fn claims(id: &str, role: ClaimsRole) -> Claims {
    Claims {
        sub: id.to_owned(),
        role,
        exp: (Utc::now() + chrono::Duration::hours(1)).timestamp(),
        name: None,
        email: None,
        phone: None,
    }
}

/// A token for `id` signed with the server's secret.
pub fn token(id: &str, role: ClaimsRole) -> String {
    JwtIdentity::hs256(SECRET)
        .issue(&claims(id, role))
        .expect("issue token")
}

#[derive(Clone, Debug)]
enum Auth {
    None,
    Bearer(String),
    Cookie(String),
}

/// Someone calling the API.
#[derive(Clone, Debug)]
pub struct Actor {
    api: String,
    auth: Auth,
    http: reqwest::Client,
}

impl Actor {
    /// `id` with `role` at the API base `api` (a server of another
    /// process).
    pub fn at(api: &str, id: &str, role: ClaimsRole) -> Self {
        Self {
            api: api.to_owned(),
            auth: Auth::Bearer(token(id, role)),
            http: client(),
        }
    }

    /// A request to `path` (relative to the API base), with credentials.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.api));
        match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Cookie(token) => request.header("cookie", format!("support_token={token}")),
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.request(Method::POST, path)
            .json(&body)
            .send()
            .await
            .expect("POST")
    }

    /// POST and expect `status`; the JSON body (Null when empty).
    pub async fn post_ok(&self, path: &str, body: Value, status: StatusCode) -> Value {
        expect(self.post(path, body).await, status).await
    }

    /// GET and expect 200; the JSON body.
    pub async fn get_ok(&self, path: &str) -> Value {
        expect(self.get(path).await, StatusCode::OK).await
    }

    /// `POST /messages`; returns the conversation id and the message.
    pub async fn send(&self, content: &str) -> (String, Value) {
        let body = self
            .post_ok(
                "/messages",
                serde_json::json!({ "content": content }),
                StatusCode::CREATED,
            )
            .await;
        (
            body["conversation"]["id"].as_str().expect("id").to_owned(),
            body["message"].clone(),
        )
    }

    /// `POST /conversations/{id}/messages`; returns the message.
    pub async fn reply(&self, conversation: &str, content: &str) -> Value {
        self.post_ok(
            &format!("/conversations/{conversation}/messages"),
            serde_json::json!({ "content": content }),
            StatusCode::CREATED,
        )
        .await
    }

    /// Opens the live stream, optionally resuming after `last_event_id`.
    pub async fn events(&self, last_event_id: Option<&str>) -> EventStream {
        let mut request = self
            .request(Method::GET, "/events")
            .timeout(Duration::from_secs(3600));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let mut stream = Self::open_stream(request).await;
        if last_event_id.is_none() {
            // A fresh stream first states where it starts.
            let ready = stream
                .next(Duration::from_secs(5))
                .await
                .expect("a ready event");
            assert_eq!(ready.event, "ready", "{ready:?}");
            assert_eq!(ready.id, Some(ready.data["latest"].to_string()));
            stream.ready = ready.id;
        }
        stream
    }

    /// Opens a fresh live stream that returns typing and presence too.
    pub async fn signals(&self) -> EventStream {
        let mut stream = self.events(None).await;
        stream.signals = true;
        stream
    }

    /// Opens the live stream resuming with the `last_event_id` query
    /// parameter, as a new browser `EventSource` does.
    pub async fn events_from_query(&self, last_event_id: &str) -> EventStream {
        let request = self
            .request(
                Method::GET,
                &format!("/events?last_event_id={last_event_id}"),
            )
            .timeout(Duration::from_secs(3600));
        Self::open_stream(request).await
    }

    /// Opens the live stream as `EventSource` would (after
    /// `last_event_id` when given); `None` when the server refuses it (a
    /// client then tries again later).
    pub async fn try_events(&self, last_event_id: Option<&str>) -> Option<EventStream> {
        let mut request = self
            .request(Method::GET, "/events")
            .timeout(Duration::from_secs(3600));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.ok()?;
        (response.status() == StatusCode::OK).then(|| EventStream {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
            ready: None,
            signals: false,
        })
    }

    async fn open_stream(request: reqwest::RequestBuilder) -> EventStream {
        let response = request.send().await.expect("GET /events");
        assert_eq!(response.status(), StatusCode::OK, "open event stream");
        EventStream {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
            ready: None,
            signals: false,
        }
    }
}

/// Asserts the status; returns the JSON body (Null when empty).
pub async fn expect(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
}

/// One server-sent event.
#[derive(Clone, Debug, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

type ByteStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// The server ended a live stream (or the connection broke).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamEnded;

/// A live event stream being read.
pub struct EventStream {
    body: ByteStream,
    buffer: String,
    /// The id of the `ready` event a fresh stream starts with.
    pub ready: Option<String>,
    /// Whether `typing` and `presence` (signals, not in the log) are
    /// returned; by default they are skipped.
    pub signals: bool,
}

/// SSE event names of signals that are not in the event log.
pub const SIGNAL_EVENTS: [&str; 2] = ["typing", "presence"];

impl EventStream {
    /// The next event (comments skipped), or `None` after `wait` without one
    /// or when the stream ended.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        loop {
            if let Some(event) = self.take_event() {
                return Some(event);
            }
            match tokio::time::timeout(wait, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }

    /// The next event (comments skipped); `Ok(None)` after `wait` without
    /// one; `Err(StreamEnded)` when the server ended the stream.
    pub async fn next_or_end(&mut self, wait: Duration) -> Result<Option<SseEvent>, StreamEnded> {
        loop {
            if let Some(event) = self.take_event() {
                return Ok(Some(event));
            }
            match tokio::time::timeout(wait, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Some(Err(_)) | None) => return Err(StreamEnded),
                Err(_) => return Ok(None),
            }
        }
    }

    /// Every event that arrives until `wait` passes without one.
    pub async fn drain(&mut self, wait: Duration) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next(wait).await {
            events.push(event);
        }
        events
    }

    /// Whether the server ended the stream within `wait`.
    pub async fn ended(&mut self, wait: Duration) -> bool {
        loop {
            match tokio::time::timeout(wait, self.body.next()).await {
                Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => continue,
                Err(_) => return false,
            }
        }
    }

    fn take_event(&mut self) -> Option<SseEvent> {
        loop {
            let end = self.buffer.find("\n\n")?;
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut id = None;
            let mut event = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("id:") {
                    id = Some(value.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("event:") {
                    event = value.trim().to_owned();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.strip_prefix(' ').unwrap_or(value));
                }
            }
            if data.is_empty() {
                continue; // a keep-alive comment
            }
            if !self.signals && SIGNAL_EVENTS.contains(&event.as_str()) {
                continue;
            }
            let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
            return Some(SseEvent { id, event, data });
        }
    }
}
