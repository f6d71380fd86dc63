//! The example support desk: `support-axum` over `support-sqlx`, with a
//! production-shaped middleware stack. `main.rs` runs it; the end-to-end
//! tests start it in-process on a real socket.

pub mod config;
pub mod demo;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use axum::response::Redirect;
use axum::routing::get;
use support_axum::live::TypingConfig;
use support_axum::outbound::{
    EmailChannel, EmailConfig, LogChannel, WebhookChannel, WebhookConfig, WebhookSecret, Worker,
};
use support_axum::pages::{self, PagesConfig};
use support_axum::{ApiConfig, JwtIdentity, SupportApi};
use support_core::notification::StoredContacts;
use support_core::{Channel, NotificationRules, PresenceConfig, SupportConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use config::Config;

/// Where the API is mounted.
pub const API_BASE: &str = "/api/support";
/// The user's support page.
pub const USER_PAGE: &str = "/support";
/// The admin desk; one conversation is at `{ADMIN_PAGE}/{id}`.
pub const ADMIN_PAGE: &str = "/admin/support";
/// The pages' static assets.
pub const ASSETS: &str = "/support/assets";

/// Why the desk could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] support_sqlx::SetupError),
    /// The live hub could not read the event log.
    #[error("cannot start the live hub")]
    Live(#[from] support_core::SupportError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Demo tokens could not be minted.
    #[error(transparent)]
    Token(#[from] support_axum::auth::TokenError),
    /// The webhook settings are wrong.
    #[error(transparent)]
    Webhook(#[from] support_axum::outbound::WebhookError),
    /// The email settings are wrong.
    #[error(transparent)]
    Email(#[from] support_axum::outbound::EmailError),
}

/// A running desk.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// The API state (to end live streams, reach the core service).
    pub api: SupportApi,
    /// Demo users, when in demo mode.
    pub demo_users: Vec<demo::DemoUser>,
    /// The secret tokens are verified with.
    pub secret: String,
    server: JoinHandle<std::io::Result<()>>,
    stop: tokio::sync::oneshot::Sender<()>,
    stop_worker: tokio::sync::watch::Sender<bool>,
}

impl Running {
    /// `http://addr`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful shutdown: ends live streams, finishes requests in flight.
    pub async fn stop(self) -> std::io::Result<()> {
        self.stop_worker.send_replace(true);
        let _ = self.stop.send(());
        self.server
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// The host application: the support API nested under [`API_BASE`], the
/// pages at [`USER_PAGE`] and [`ADMIN_PAGE`], and, in demo mode (with demo
/// users), the demo login at [`demo::LOGIN_PATH`]; with the middleware a
/// production host would add.
pub fn app(api: SupportApi, demo_users: Vec<demo::DemoUser>) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let demo = !demo_users.is_empty();
    let pages = PagesConfig {
        api_base: API_BASE.to_owned(),
        user_path: USER_PAGE.to_owned(),
        admin_path: ADMIN_PAGE.to_owned(),
        assets_path: ASSETS.to_owned(),
        login_url: demo.then(|| demo::LOGIN_PATH.to_owned()),
        title: "Support".to_owned(),
    };
    let home = if demo { demo::LOGIN_PATH } else { USER_PAGE };
    let mut router = Router::new()
        .nest(API_BASE, support_axum::router(api.clone()))
        .merge(pages::router(api, pages))
        .route("/", get(move || async move { Redirect::to(home) }));
    if demo {
        router = router.merge(demo::login_router(demo_users));
    }
    router
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(
                    |request: &axum::http::Request<axum::body::Body>| {
                        let id = request
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id = %id)
                    },
                ))
                .layer(PropagateRequestIdLayer::new(request_id))
                // Compresses JSON; leaves event streams alone (default predicate).
                .layer(CompressionLayer::new())
                // Bounds the time to the response head; a live stream's body
                // is not cut by it.
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_secs(30),
                )),
        )
}

/// Opens the database, builds the API and serves it until `stop` or
/// [`Running::stop`].
pub async fn start(config: &Config) -> Result<Running, StartError> {
    let storage = open_storage(config).await?;
    let (secret, demo) = match &config.jwt_secret {
        Some(secret) => (secret.clone(), false),
        None => (demo::random_secret(), true),
    };
    let identity = JwtIdentity::hs256(&secret);
    let demo_users = if demo {
        demo::users(&identity)?
    } else {
        Vec::new()
    };
    let delay = chrono::Duration::seconds(i64::from(config.notify_delay_secs));
    let api = SupportApi::builder(Arc::clone(&storage), identity)
        .support_config(SupportConfig {
            notifications: NotificationRules {
                user_channels: vec![Channel::Email],
                team_channels: vec![Channel::Webhook],
                reply_grace: delay,
                team_alert_window: delay,
            },
            ..SupportConfig::default()
        })
        .config(ApiConfig {
            base_path: Some(API_BASE.to_owned()),
            typing: TypingConfig {
                expiry: Duration::from_millis(u64::from(config.typing_expiry_ms)),
                admin_names_to_users: config.admin_names_to_users,
                ..TypingConfig::default()
            },
            presence: presence_config(config),
            ..ApiConfig::default()
        })
        .build()
        .await?;
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    spawn_event_pruning(api.clone(), config.event_retention_hours);
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(notification_worker(config, &api, addr)?.run(worker_stopped));

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown_api = api.clone();
    let app = app(api.clone(), demo_users.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
                shutdown_api.shutdown();
            })
            .await
    });
    Ok(Running {
        addr,
        api,
        demo_users,
        secret,
        server,
        stop,
        stop_worker,
    })
}

/// Presence timings from the configuration: reports three times per grace
/// period, so one lost report does not take anyone offline.
fn presence_config(config: &Config) -> PresenceConfig {
    let grace = Duration::from_secs(u64::from(config.presence_grace_secs));
    PresenceConfig {
        away_after: Duration::from_secs(u64::from(config.away_after_secs)),
        grace,
        beat_every: grace / 3,
    }
}

/// The notification worker: team alerts to the webhook and reply
/// notifications by email when those are configured, everything else to the
/// log (demo mode).
fn notification_worker(
    config: &Config,
    api: &SupportApi,
    addr: SocketAddr,
) -> Result<Worker, StartError> {
    let support = api.support().clone();
    let contacts = Arc::new(StoredContacts(Arc::clone(support.storage())));
    let webhook: Arc<dyn support_core::Deliver> =
        match (&config.webhook_url, &config.webhook_secret) {
            (Some(url), Some(secret)) => {
                let webhook = WebhookConfig::new(url.clone(), WebhookSecret::parse(secret)?);
                Arc::new(WebhookChannel::new(webhook)?)
            }
            _ => Arc::new(LogChannel),
        };
    let email: Arc<dyn support_core::Deliver> = match (&config.smtp_url, &config.email_from) {
        (Some(url), Some(from)) => {
            let base = config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}"));
            let mut email = EmailConfig::new(url.clone(), from.clone());
            email.link_template = Some(format!("{}{USER_PAGE}", base.trim_end_matches('/')));
            Arc::new(EmailChannel::new(email)?)
        }
        (Some(_), None) | (None, Some(_)) => {
            tracing::warn!(
                "email needs both SUPPORT_SMTP_URL and SUPPORT_EMAIL_FROM: reply notifications go to the log"
            );
            Arc::new(LogChannel)
        }
        (None, None) => Arc::new(LogChannel),
    };
    Ok(Worker::new(support, contacts)
        .channel(Channel::Email, email)
        .channel(Channel::Sms, Arc::new(LogChannel))
        .channel(Channel::Webhook, webhook))
}

async fn open_storage(
    config: &Config,
) -> Result<Arc<dyn support_core::Storage>, support_sqlx::SetupError> {
    use support_sqlx::sqlite::{SqliteSynchronous, connect_options};
    if !config.database_url.starts_with("sqlite:") {
        return support_sqlx::connect(&config.database_url).await;
    }
    let synchronous = if config.sqlite_synchronous.eq_ignore_ascii_case("full") {
        SqliteSynchronous::Full
    } else {
        SqliteSynchronous::Normal
    };
    let options = connect_options(&config.database_url)?.synchronous(synchronous);
    Ok(Arc::new(
        support_sqlx::SqliteStorage::connect_with(options).await?,
    ))
}

/// Prunes live-event history past the retention window, hourly.
fn spawn_event_pruning(api: SupportApi, retention_hours: u32) {
    tokio::spawn(async move {
        let retention = chrono::Duration::hours(i64::from(retention_hours));
        let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            match api.support().prune_events(retention).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned live-event history"),
                Err(error) => tracing::warn!(%error, "cannot prune live-event history"),
            }
        }
    });
}
