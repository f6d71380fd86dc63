//! The webhook channel: a JSON body signed the Standard Webhooks way.
//!
//! Headers `webhook-id` (the delivery id, the same on every attempt),
//! `webhook-timestamp` (seconds) and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`). 2xx is delivered;
//! 408, 429 and 5xx, timeouts and connection failures are retried; any
//! other status is a permanent failure. Redirects are not followed.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use support_core::notification::NotificationMessage;
use support_core::{Deliver, DeliveryError, Notification};

use super::payload::{NotificationPayload, conversation_link};

/// The signature scheme version in `webhook-signature`.
pub const SIGNATURE_VERSION: &str = "v1";

/// How long a message may stay when a body must shrink to fit `max_body`.
const SHORTENED_CHARS: usize = 500;

/// The signing secret. `whsec_<base64>` (the Standard Webhooks form) is
/// decoded; any other text is used as raw bytes. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// Parses a configured secret.
    pub fn parse(raw: &str) -> Result<Self, WebhookError> {
        let bytes = match raw.strip_prefix("whsec_") {
            Some(encoded) => STANDARD
                .decode(encoded)
                .map_err(|_| WebhookError::Config("a whsec_ secret must be base64"))?,
            None => raw.as_bytes().to_vec(),
        };
        if bytes.len() < 16 {
            return Err(WebhookError::Config("the secret must be at least 16 bytes"));
        }
        Ok(Self(bytes))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The `webhook-signature` value for a message.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret.0)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "{SIGNATURE_VERSION},{}",
        STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// Where and how to call.
#[derive(Clone)]
pub struct WebhookConfig {
    /// The target (`http://` or, with feature `webhook-rustls`, `https://`).
    pub url: String,
    /// The signing secret.
    pub secret: WebhookSecret,
    /// Whole-request timeout (default 10 s).
    pub timeout: Duration,
    /// Connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Largest body sent (default 64 KiB): messages are shortened, then
    /// dropped (oldest first) to fit.
    pub max_body: usize,
    /// A link to the conversation, `{id}` replaced by its id.
    pub link_template: Option<String>,
    /// Allow targets in loopback, private, link-local and other
    /// non-public ranges (default false: tests and internal hosts only).
    pub allow_private: bool,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &"<redacted>")
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .field("allow_private", &self.allow_private)
            .finish_non_exhaustive()
    }
}

impl WebhookConfig {
    /// Defaults for `url` signed with `secret`.
    pub fn new(url: impl Into<String>, secret: WebhookSecret) -> Self {
        Self {
            url: url.into(),
            secret,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_body: 64 * 1024,
            link_template: None,
            allow_private: false,
        }
    }
}

/// Why a webhook could not be set up or delivered.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A setting is wrong.
    #[error("invalid webhook configuration: {0}")]
    Config(&'static str),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The target resolves to an address the policy refuses.
    #[error("refused webhook target {0}: not a public address")]
    PrivateTarget(IpAddr),
    /// The target's host name does not resolve.
    #[error("cannot resolve the webhook host")]
    Resolve(#[source] std::io::Error),
    /// The request failed (connect, timeout, reset).
    #[error("webhook request failed")]
    Request(#[source] reqwest::Error),
    /// The receiver answered with a failure status.
    #[error("webhook receiver answered {0}")]
    Status(u16),
    /// Even without messages the body is over the cap.
    #[error("the webhook body exceeds {0} bytes")]
    TooLarge(usize),
    /// The body could not be serialized.
    #[error("cannot serialize the webhook body")]
    Serialize(#[source] serde_json::Error),
}

/// Calls a webhook per notification.
#[derive(Clone, Debug)]
pub struct WebhookChannel {
    client: reqwest::Client,
    config: WebhookConfig,
    host: String,
    port: u16,
}

impl WebhookChannel {
    /// A channel for `config`.
    pub fn new(config: WebhookConfig) -> Result<Self, WebhookError> {
        let (host, port) = host_port(&config.url).ok_or(WebhookError::Config(
            "the URL must be http(s)://host[:port]/...",
        ))?;
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(WebhookError::Client)?;
        Ok(Self {
            client,
            config,
            host,
            port,
        })
    }

    /// Refuses a target that is (or resolves to) a non-public address.
    async fn check_target(&self) -> Result<(), WebhookError> {
        if self.config.allow_private {
            return Ok(());
        }
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, self.port)],
            Err(_) => tokio::net::lookup_host((host, self.port))
                .await
                .map_err(WebhookError::Resolve)?
                .collect(),
        };
        match addresses.iter().find(|a| !is_public(a.ip())) {
            Some(private) => Err(WebhookError::PrivateTarget(private.ip())),
            None => Ok(()),
        }
    }

    /// The JSON body, within `max_body`: long messages are shortened to
    /// [`SHORTENED_CHARS`] characters first, then the oldest are left out.
    fn body(
        &self,
        notification: &Notification,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<u8>, WebhookError> {
        let link = self
            .config
            .link_template
            .as_deref()
            .map(|template| conversation_link(template, notification.conversation_id));
        let mut messages = notification.messages.clone();
        loop {
            let payload = NotificationPayload::new(notification, &messages, link.clone(), now);
            let body = serde_json::to_vec(&payload).map_err(WebhookError::Serialize)?;
            if body.len() <= self.config.max_body {
                return Ok(body);
            }
            let long = |m: &NotificationMessage| m.content.chars().count() > SHORTENED_CHARS;
            if messages.iter().any(long) {
                // All at once (one more serialization, not one per message);
                // one character less for the ellipsis, so a shortened
                // message is never "long" again and the loop moves on.
                for message in messages.iter_mut().filter(|m| long(m)) {
                    message.content = message
                        .content
                        .chars()
                        .take(SHORTENED_CHARS - 1)
                        .collect::<String>()
                        + "…";
                }
            } else if messages.len() > 1 {
                messages.remove(0);
            } else {
                return Err(WebhookError::TooLarge(self.config.max_body));
            }
        }
    }
}

#[async_trait]
impl Deliver for WebhookChannel {
    async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        if let Err(error) = self.check_target().await {
            return Err(match error {
                WebhookError::Resolve(_) => DeliveryError::transient(error),
                _ => DeliveryError::permanent(error),
            });
        }
        // One reading of the clock for the body and the signed header.
        let now = Utc::now();
        let body = self
            .body(notification, now)
            .map_err(DeliveryError::permanent)?;
        let id = notification.delivery_id.to_string();
        let timestamp = now.timestamp();
        let signature = sign(&self.config.secret, &id, timestamp, &body);
        let response = self
            .client
            .post(&self.config.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            // Without the URL: for Slack-style hooks the URL is the secret,
            // and this error is stored in the job and shown to admins.
            .map_err(|e| DeliveryError::transient(WebhookError::Request(e.without_url())))?;
        let status = response.status().as_u16();
        drop(response);
        match status {
            200..=299 => Ok(()),
            408 | 425 | 429 | 500..=599 => {
                Err(DeliveryError::transient(WebhookError::Status(status)))
            }
            _ => Err(DeliveryError::permanent(WebhookError::Status(status))),
        }
    }
}

/// `(host, port)` of an `http(s)://` URL.
fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if authority.is_empty() {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
        _ => (authority, default_port),
    };
    Some((host.to_owned(), port))
}

/// Whether an address is on the public internet.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 224)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification_with(messages: usize, chars: usize) -> Notification {
        let owner = support_core::UserId::parse("alice").expect("id");
        Notification {
            delivery_id: support_core::JobId::new(),
            kind: support_core::NotificationKind::UserMessage,
            channel: support_core::Channel::Webhook,
            recipient: support_core::notification::Recipient::Team,
            contact: None,
            conversation_id: support_core::ConversationId::new(),
            conversation_owner: owner.clone(),
            messages: (0..messages)
                .map(|_| support_core::notification::NotificationMessage {
                    id: support_core::MessageId::new(),
                    author: owner.clone(),
                    is_admin_message: false,
                    content: "x".repeat(chars),
                    created_at: Utc::now(),
                })
                .collect(),
            attempt: 1,
        }
    }

    #[test]
    fn oversized_bodies_shrink_to_the_cap_and_terminate() {
        let secret = WebhookSecret::parse("a-secret-of-sixteen-bytes-or-more").expect("secret");
        let channel = WebhookChannel::new(WebhookConfig::new("http://127.0.0.1:9/hook", secret))
            .expect("channel");
        let cap = channel.config.max_body;
        // Four messages at the content limit: far over the cap together.
        let body = channel
            .body(&notification_with(4, 10_000), Utc::now())
            .expect("fits after shortening");
        assert!(body.len() <= cap, "{} > {cap}", body.len());
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert!(
            json.to_string().contains('…'),
            "long messages were shortened"
        );
        // Many messages: the oldest are left out until it fits.
        let body = channel
            .body(&notification_with(200, 10_000), Utc::now())
            .expect("fits after leaving messages out");
        assert!(body.len() <= cap);
    }

    #[test]
    fn private_and_loopback_ranges_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn urls_give_host_and_port() {
        assert_eq!(
            host_port("http://127.0.0.1:9/x"),
            Some(("127.0.0.1".into(), 9))
        );
        assert_eq!(
            host_port("https://hooks.example/a?b"),
            Some(("hooks.example".into(), 443))
        );
        assert_eq!(
            host_port("http://[::1]:8080/"),
            Some(("[::1]".into(), 8080))
        );
        assert_eq!(host_port("ftp://x/"), None);
    }

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // From the Standard Webhooks specification's test vectors.
        let secret =
            WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let secret = WebhookSecret::parse("a-secret-of-enough-length").expect("secret");
        let config = WebhookConfig::new("http://hooks.example/x", secret);
        let shown = format!("{config:?}");
        assert!(!shown.contains("a-secret"), "{shown}");
        assert!(!shown.contains("hooks.example"), "{shown}");
    }
}
