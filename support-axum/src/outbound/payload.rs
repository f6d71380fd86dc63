//! What channels say: the JSON body of a webhook, the plain text of an
//! email or text message.

use chrono::{DateTime, Utc};
use serde::Serialize;
use support_core::notification::NotificationMessage;
use support_core::{ConversationId, Notification, NotificationKind};

/// The JSON body of a webhook call (Standard Webhooks shape: `type`,
/// `timestamp`, `data`).
#[derive(Debug, Serialize)]
pub struct NotificationPayload<'a> {
    /// `support.admin_reply` or `support.user_message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When this attempt was made.
    pub timestamp: DateTime<Utc>,
    /// The notification.
    pub data: PayloadData<'a>,
}

/// The `data` of a [`NotificationPayload`]. `Debug` leaves out the contact
/// details and the message text.
#[derive(Serialize)]
pub struct PayloadData<'a> {
    /// The delivery id (also the `webhook-id` header).
    pub delivery_id: String,
    /// The channel the job was for (`webhook`, `sms`, `email`).
    pub channel: &'static str,
    /// The conversation.
    pub conversation_id: String,
    /// The conversation's user.
    pub conversation_owner: &'a str,
    /// The recipient's user id; absent for the team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<&'a str>,
    /// The recipient's phone, for SMS gateways (from the host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<&'a str>,
    /// The recipient's email (from the host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    /// A link back to the conversation, when the host configured one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The new messages, oldest first.
    pub messages: &'a [NotificationMessage],
    /// A one-paragraph summary, for chat and SMS.
    pub text: String,
}

impl std::fmt::Debug for PayloadData<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadData")
            .field("delivery_id", &self.delivery_id)
            .field("channel", &self.channel)
            .field("conversation_id", &self.conversation_id)
            .field("conversation_owner", &self.conversation_owner)
            .field("recipient", &self.recipient)
            .field("phone", &self.phone.map(|_| "<redacted>"))
            .field("email", &self.email.map(|_| "<redacted>"))
            .field("link", &self.link)
            .field("messages", &self.messages.len())
            .finish_non_exhaustive()
    }
}

impl<'a> NotificationPayload<'a> {
    /// The payload of `notification`, with `link` and `messages` (possibly
    /// fewer or shortened, to fit a size cap).
    pub fn new(
        notification: &'a Notification,
        messages: &'a [NotificationMessage],
        link: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        let contact = notification.contact.as_ref();
        Self {
            kind: format!("support.{}", notification.kind.as_str()),
            timestamp: now,
            data: PayloadData {
                delivery_id: notification.delivery_id.to_string(),
                channel: notification.channel.as_str(),
                conversation_id: notification.conversation_id.to_string(),
                conversation_owner: notification.conversation_owner.as_str(),
                recipient: notification.recipient.user().map(|u| u.as_str()),
                phone: contact.and_then(|c| c.phone.as_deref()),
                email: contact.and_then(|c| c.email.as_deref()),
                text: render_text(notification, messages, link.as_deref()),
                link,
                messages,
            },
        }
    }
}

/// The link to a conversation: `template` (a channel's `link_template`)
/// with `{id}` replaced by the conversation's id.
pub(crate) fn conversation_link(template: &str, conversation: ConversationId) -> String {
    template.replace("{id}", &conversation.to_string())
}

/// A plain-text rendering: a headline, the messages, the link.
pub fn render_text(
    notification: &Notification,
    messages: &[NotificationMessage],
    link: Option<&str>,
) -> String {
    let mut text = match notification.kind {
        NotificationKind::AdminReply => match messages.len() {
            1 => "Support replied to your conversation:\n".to_owned(),
            n => format!("Support sent you {n} replies:\n"),
        },
        NotificationKind::UserMessage => format!(
            "{} wrote to support ({} new message{}):\n",
            notification.conversation_owner,
            messages.len(),
            if messages.len() == 1 { "" } else { "s" }
        ),
    };
    for message in messages {
        text.push_str("\n> ");
        text.push_str(&message.content.replace('\n', "\n> "));
        text.push('\n');
    }
    if let Some(link) = link {
        text.push_str("\nOpen the conversation: ");
        text.push_str(link);
        text.push('\n');
    }
    text
}
