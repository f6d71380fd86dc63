//! The email channel: one message per notification over SMTP (`lettre`).
//!
//! The message has a subject, a `multipart/alternative` body (plain text and
//! HTML, every piece of message content HTML-escaped in the HTML part), the
//! conversation's new messages and a link back to the conversation page.
//! Its `Message-ID` carries the delivery id, the same on every attempt, so a
//! mail system can drop duplicates.
//!
//! A permanent SMTP reply (5yz, e.g. `550` unknown mailbox) or an address
//! that cannot be parsed is a permanent failure; a transient reply (4yz,
//! e.g. `451`), a connection failure or a timeout is retried.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::Error as SmtpError;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use support_core::notification::NotificationMessage;
use support_core::{Deliver, DeliveryError, Notification, NotificationKind};

use super::payload::{conversation_link, render_text};
use crate::html::escape;

/// Where and how to send.
#[derive(Clone)]
pub struct EmailConfig {
    /// The SMTP server: `smtp://host:port` (plain, for local relays and
    /// tests), `smtp://host:587?tls=required` (STARTTLS) or
    /// `smtps://host:465` (implicit TLS); credentials as
    /// `smtp://user:password@host`.
    pub smtp_url: String,
    /// The sender, `support@example.com` or `Support <support@example.com>`.
    pub from: String,
    /// A link to the conversation page, `{id}` replaced by the
    /// conversation's id (e.g. `https://example.com/support`).
    pub link_template: Option<String>,
    /// Timeout of each SMTP command, connecting included (default 10 s).
    pub timeout: Duration,
}

impl EmailConfig {
    /// Defaults for sending through `smtp_url` as `from`.
    pub fn new(smtp_url: impl Into<String>, from: impl Into<String>) -> Self {
        Self {
            smtp_url: smtp_url.into(),
            from: from.into(),
            link_template: None,
            timeout: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password, the addresses are personal data.
        let scheme = self.smtp_url.split("://").next().unwrap_or_default();
        f.debug_struct("EmailConfig")
            .field("smtp_url", &format_args!("{scheme}://<redacted>"))
            .field("from", &"<redacted>")
            .field("link_template", &self.link_template)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why an email could not be set up or sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The SMTP URL is wrong.
    #[error("invalid SMTP URL")]
    SmtpUrl(#[source] SmtpError),
    /// An address does not parse (the sender, or the recipient's).
    #[error("invalid email address ({0})")]
    Address(&'static str, #[source] lettre::address::AddressError),
    /// The notification has no email address (the host knows none).
    #[error("the recipient has no email address")]
    NoAddress,
    /// The message could not be built.
    #[error("cannot build the email")]
    Build(#[source] lettre::error::Error),
    /// The SMTP server refused the message. Only the reply code is kept:
    /// the server's text often repeats the recipient's address, and this
    /// error is stored with the job and shown to admins.
    #[error("SMTP server refused the message (reply {code})")]
    Refused {
        /// The SMTP reply code, e.g. `550`.
        code: String,
    },
    /// The SMTP exchange failed without a reply (connection, TLS, timeout).
    #[error("SMTP delivery failed")]
    Smtp(#[source] SmtpError),
}

/// Sends one email per notification to the recipient's address.
#[derive(Clone)]
pub struct EmailChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    config: EmailConfig,
}

impl fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailChannel")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    /// A channel for `config`. Connects lazily, on each delivery.
    pub fn new(config: EmailConfig) -> Result<Self, EmailError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| EmailError::Address("sender", e))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
            .map_err(EmailError::SmtpUrl)?
            .timeout(Some(config.timeout))
            .build();
        Ok(Self {
            transport,
            from,
            config,
        })
    }

    /// The message for `notification`.
    fn message(&self, notification: &Notification) -> Result<Message, EmailError> {
        let to: Mailbox = notification
            .contact
            .as_ref()
            .and_then(|c| c.email.as_deref())
            .ok_or(EmailError::NoAddress)?
            .parse()
            .map_err(|e| EmailError::Address("recipient", e))?;
        let link = self
            .config
            .link_template
            .as_deref()
            .map(|template| conversation_link(template, notification.conversation_id));
        let messages = &notification.messages;
        let text = render_text(notification, messages, link.as_deref());
        let html = render_html(notification, messages, link.as_deref());
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject(notification))
            .message_id(Some(format!(
                "<{}@{}>",
                notification.delivery_id,
                self.from.email.domain()
            )))
            .header(header::MIME_VERSION_1_0)
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(EmailError::Build)
    }
}

#[async_trait]
impl Deliver for EmailChannel {
    async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let message = self
            .message(notification)
            .map_err(DeliveryError::permanent)?;
        let error = match self.transport.send(message).await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let permanent = error.is_permanent();
        let error = match error.status() {
            Some(code) => EmailError::Refused {
                code: code.to_string(),
            },
            None => EmailError::Smtp(error),
        };
        Err(if permanent {
            DeliveryError::permanent(error)
        } else {
            DeliveryError::transient(error)
        })
    }
}

/// The subject line.
fn subject(notification: &Notification) -> String {
    let count = notification.messages.len();
    match notification.kind {
        NotificationKind::AdminReply if count > 1 => format!("{count} new replies from support"),
        NotificationKind::AdminReply => "New reply from support".to_owned(),
        NotificationKind::UserMessage => {
            format!(
                "New support message from {}",
                notification.conversation_owner
            )
        }
    }
}

/// The HTML part: a headline, each message quoted, the link. Everything
/// that comes from a person or from configuration is escaped.
fn render_html(
    notification: &Notification,
    messages: &[NotificationMessage],
    link: Option<&str>,
) -> String {
    let headline = match notification.kind {
        NotificationKind::AdminReply => match messages.len() {
            1 => "Support replied to your conversation:".to_owned(),
            n => format!("Support sent you {n} replies:"),
        },
        NotificationKind::UserMessage => format!(
            "{} wrote to support ({} new message{}):",
            escape(notification.conversation_owner.as_str()),
            messages.len(),
            if messages.len() == 1 { "" } else { "s" }
        ),
    };
    let mut html =
        String::from("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"></head>\n<body>\n");
    html.push_str("<p>");
    html.push_str(&headline);
    html.push_str("</p>\n");
    for message in messages {
        html.push_str("<blockquote style=\"white-space: pre-wrap\">");
        html.push_str(&escape(&message.content));
        html.push_str("</blockquote>\n");
    }
    if let Some(link) = link {
        html.push_str("<p><a href=\"");
        html.push_str(&escape(link));
        html.push_str("\">Open the conversation</a></p>\n");
    }
    html.push_str("</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_addresses_stay_out_of_debug_output() {
        let config = EmailConfig::new(
            "smtps://mailer:hunter2@smtp.example.com",
            "Support <support@example.com>",
        );
        let channel = EmailChannel::new(config).expect("channel");
        let shown = format!("{channel:?}");
        for secret in [
            "hunter2",
            "mailer",
            "smtp.example.com",
            "support@example.com",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("smtps://<redacted>"), "{shown}");
    }

    #[test]
    fn a_bad_sender_or_url_is_refused_at_setup() {
        assert!(matches!(
            EmailChannel::new(EmailConfig::new("smtp://127.0.0.1:2525", "not an address")),
            Err(EmailError::Address("sender", _))
        ));
        assert!(matches!(
            EmailChannel::new(EmailConfig::new("gopher://x", "support@example.com")),
            Err(EmailError::SmtpUrl(_))
        ));
    }
}
