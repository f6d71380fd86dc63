//! [`SupportApi`]: everything the router needs, built once by the host.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use support_core::{
    Clock, Contact, LogTail, Notifier, Notifiers, PresenceConfig, Storage, Support, SupportConfig,
    SupportError, UserId,
};

/// Users whose stored contact details a process remembers at most.
const STORED_CONTACTS_CAP: usize = 10_000;
use tokio::sync::watch;

use crate::auth::{Authenticated, IdentityProvider, OriginPolicy};
use crate::live::team::{self, Team};
use crate::live::{self, LiveHub, LocalBus, TypingConfig};
use crate::problem::Problem;

/// Limits and timings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest accepted request body (default 64 KiB); larger gets 413.
    pub body_limit: usize,
    /// Interval of keep-alive comments on live streams (default 15 s).
    pub keep_alive: Duration,
    /// Where the host mounts the API (e.g. `/api/support`), announced as
    /// the server URL in the OpenAPI document. `None`: not announced.
    pub base_path: Option<String>,
    /// Events a live stream replays per log read when catching up.
    pub replay_batch: u32,
    /// Typing signals: throttle, expiry, names.
    pub typing: TypingConfig,
    /// Presence: idle time, grace period, report interval.
    pub presence: PresenceConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            keep_alive: Duration::from_secs(15),
            base_path: None,
            replay_batch: 500,
            typing: TypingConfig::default(),
            presence: PresenceConfig::default(),
        }
    }
}

/// The support API's state: the core service, the host's identity
/// provider, the live hub. Cheap to clone.
#[derive(Clone)]
pub struct SupportApi {
    inner: Arc<Inner>,
}

struct Inner {
    support: Support,
    identity: Arc<dyn IdentityProvider>,
    live: LiveHub,
    origins: OriginPolicy,
    config: ApiConfig,
    shutdown: watch::Sender<bool>,
    pub(crate) openapi_json: OnceLock<String>,
    /// Contact details already stored, per user, so a send does not write
    /// them again while they stay the same.
    pub(crate) stored_contacts: std::sync::Mutex<std::collections::HashMap<UserId, Contact>>,
    /// The task that feeds `live` from the event log; ends with the API.
    live_delivery: tokio::task::JoinHandle<()>,
    /// Typing and presence of this process.
    team: Arc<Team>,
    /// The task that runs them; ends with the API.
    team_task: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.live_delivery.abort();
        self.team_task.abort();
    }
}

impl SupportApi {
    /// Starts building an API over `storage`, identifying callers with
    /// `identity`.
    pub fn builder(
        storage: Arc<dyn Storage>,
        identity: impl IdentityProvider,
    ) -> SupportApiBuilder {
        SupportApiBuilder {
            storage,
            identity: Arc::new(identity),
            support_config: SupportConfig::default(),
            clock: None,
            notifiers: Vec::new(),
            origins: OriginPolicy::default(),
            config: ApiConfig::default(),
        }
    }

    /// The core service (for host code that sends or reads directly).
    pub fn support(&self) -> &Support {
        &self.inner.support
    }

    /// The live hub.
    pub fn live(&self) -> &LiveHub {
        &self.inner.live
    }

    /// The HTTP configuration.
    pub fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    /// Ends every open live stream. Call it when the server starts a
    /// graceful shutdown: open SSE responses would otherwise hold it up.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    pub(crate) fn team(&self) -> &Arc<Team> {
        &self.inner.team
    }

    pub(crate) fn identity(&self) -> &dyn IdentityProvider {
        self.inner.identity.as_ref()
    }

    pub(crate) fn openapi_json(&self) -> &OnceLock<String> {
        &self.inner.openapi_json
    }

    /// Whether `contact` is what was last stored for `user` by this process.
    pub(crate) fn contact_is_stored(&self, user: &UserId, contact: &Contact) -> bool {
        self.stored_contacts()
            .get(user)
            .is_some_and(|stored| stored == contact)
    }

    /// Remembers that `contact` is stored for `user`. Bounded: past
    /// [`STORED_CONTACTS_CAP`] entries the memory starts over (the cost is
    /// one redundant write per user).
    pub(crate) fn note_contact_stored(&self, user: UserId, contact: Contact) {
        let mut stored = self.stored_contacts();
        if stored.len() >= STORED_CONTACTS_CAP {
            stored.clear();
        }
        stored.insert(user, contact);
    }

    fn stored_contacts(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<UserId, Contact>> {
        self.inner
            .stored_contacts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Builds a [`SupportApi`].
pub struct SupportApiBuilder {
    storage: Arc<dyn Storage>,
    identity: Arc<dyn IdentityProvider>,
    support_config: SupportConfig,
    clock: Option<Arc<dyn Clock>>,
    notifiers: Vec<Arc<dyn Notifier>>,
    origins: OriginPolicy,
    config: ApiConfig,
}

impl SupportApiBuilder {
    /// Domain settings (message length, reopen window).
    pub fn support_config(mut self, config: SupportConfig) -> Self {
        self.support_config = config;
        self
    }

    /// HTTP settings.
    pub fn config(mut self, config: ApiConfig) -> Self {
        self.config = config;
        self
    }

    /// The clock (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Another notifier to tell about committed events, besides the live
    /// hub. It is told of every event committed on the database, by any
    /// process, once per process: work that must happen once per
    /// deployment belongs in the notification outbox instead.
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifiers.push(notifier);
        self
    }

    /// Which origins may send cookie-authenticated writes.
    pub fn origin_policy(mut self, policy: OriginPolicy) -> Self {
        self.origins = policy;
        self
    }

    /// Starts live delivery at the log's current position: a task (on the
    /// current Tokio runtime) follows the event log and feeds the live hub
    /// and the other notifiers, whichever process committed. Another runs
    /// typing and presence, over the storage's ephemeral bus (a
    /// [`LocalBus`] when it has none). Both end when the last clone of the
    /// API is dropped.
    pub async fn build(self) -> Result<SupportApi, SupportError> {
        let mut support = Support::new(Arc::clone(&self.storage)).with_config(self.support_config);
        if let Some(clock) = self.clock {
            support = support.with_clock(clock);
        }
        let from = support.latest_event().await?;
        let live = LiveHub::new(from);
        let notifiers = self.notifiers.into_iter().fold(
            Notifiers::new().with(Arc::new(live.clone())),
            Notifiers::with,
        );
        let bus = self
            .storage
            .ephemeral_bus()
            .unwrap_or_else(|| Arc::new(LocalBus::default()));
        let (team, outgoing) =
            Team::new(bus, live.clone(), self.config.typing, self.config.presence)?;
        let team = Arc::new(team);
        let team_task = tokio::spawn(team::run(Arc::clone(&team), outgoing, support.clone()));
        let tail = LogTail::new(self.storage, from);
        let live_delivery = tokio::spawn(live::follow(tail, Arc::new(notifiers)));
        let (shutdown, _) = watch::channel(false);
        Ok(SupportApi {
            inner: Arc::new(Inner {
                support,
                identity: self.identity,
                live,
                origins: self.origins,
                config: self.config,
                shutdown,
                openapi_json: OnceLock::new(),
                stored_contacts: std::sync::Mutex::new(std::collections::HashMap::new()),
                live_delivery,
                team,
                team_task,
            }),
        })
    }
}

/// The authenticated caller of a request. Rejects with 401 without valid
/// credentials, and with 403 a cookie-authenticated write from another
/// origin.
#[derive(Clone, Debug)]
pub struct Caller(pub Authenticated);

impl FromRequestParts<SupportApi> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, api: &SupportApi) -> Result<Self, Problem> {
        let caller = api
            .identity()
            .authenticate(parts)
            .await
            .map_err(|e| Problem::unauthenticated(e.to_string()))?;
        if caller.ambient && !api.inner.origins.allows(parts) {
            return Err(Problem::forbidden(
                "cross-site request refused: a cookie-authenticated write must come from the \
                 same origin",
            ));
        }
        Ok(Self(caller))
    }
}
