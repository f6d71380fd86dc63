//! The rules that turn a write into notification jobs.

use chrono::{DateTime, Duration, Utc};

use super::job::{JobId, NewJob, Outbox, PendingCancel, Recipient};
use super::{Channel, NotificationKind, SkipReason};
use crate::conversation::Conversation;
use crate::events::{EventPayload, NewEvent};
use crate::principal::Role;

/// Who is notified of what, through which channels, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRules {
    /// Channels a user is told about admin replies through (e.g. email,
    /// SMS). Empty (the default): users are not notified.
    pub user_channels: Vec<Channel>,
    /// Channels the team is alerted through (e.g. a webhook). Empty (the
    /// default): the team is not alerted.
    pub team_channels: Vec<Channel>,
    /// How long a user has to see a reply before being notified (default
    /// two minutes). Replies within it share one notification.
    pub reply_grace: Duration,
    /// The team gets at most one alert per conversation per window
    /// (default one minute), sent at its end unless an admin answered or
    /// saw the messages by then.
    pub team_alert_window: Duration,
}

impl Default for NotificationRules {
    fn default() -> Self {
        Self {
            user_channels: Vec::new(),
            team_channels: Vec::new(),
            reply_grace: Duration::minutes(2),
            team_alert_window: Duration::minutes(1),
        }
    }
}

impl NotificationRules {
    /// Whether any job can ever be made.
    pub fn is_active(&self) -> bool {
        !self.user_channels.is_empty() || !self.team_channels.is_empty()
    }

    /// Whether users are ever reached at an address (email, SMS): only then
    /// are their contact details worth storing.
    pub fn reaches_user_addresses(&self) -> bool {
        self.user_channels
            .iter()
            .any(|channel| matches!(channel, Channel::Email | Channel::Sms))
    }

    /// The channels jobs of `kind` go through.
    fn channels_for(&self, kind: NotificationKind) -> &[Channel] {
        match kind {
            NotificationKind::AdminReply => &self.user_channels,
            NotificationKind::UserMessage => &self.team_channels,
        }
    }
}

/// The coalesce key of a job: one scheduled job per kind, channel and
/// conversation (the recipient follows from the kind and conversation).
fn coalesce_key(kind: NotificationKind, channel: Channel, conversation: &Conversation) -> String {
    format!("{}:{}:{}", kind.as_str(), channel.as_str(), conversation.id)
}

/// The jobs a write causes, from the events it commits and the
/// conversation's state after it.
pub(crate) fn outbox_for(
    rules: &NotificationRules,
    conversation: &Conversation,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> Outbox {
    let mut outbox = Outbox::default();
    if !rules.is_active() {
        return outbox;
    }
    for event in events {
        match &event.payload {
            EventPayload::MessageCreated(message) if message.is_admin_message => {
                // An admin answered: the team alert is moot, the user is
                // told after the grace period (never the admin who wrote).
                cancel(
                    &mut outbox,
                    rules,
                    conversation,
                    NotificationKind::UserMessage,
                    now,
                );
                for channel in &rules.user_channels {
                    outbox.enqueue.push(job(
                        NotificationKind::AdminReply,
                        *channel,
                        Recipient::User(conversation.user_id.clone()),
                        conversation,
                        now + rules.reply_grace,
                        now,
                    ));
                }
            }
            EventPayload::MessageCreated(_) => {
                // A user wrote: the team is alerted (never that user).
                for channel in &rules.team_channels {
                    outbox.enqueue.push(job(
                        NotificationKind::UserMessage,
                        *channel,
                        Recipient::Team,
                        conversation,
                        now + rules.team_alert_window,
                        now,
                    ));
                }
            }
            EventPayload::MessagesSeen(mark) => {
                // Seen everything of the other side: nothing to tell.
                let kind = match mark.reader_role {
                    Role::User => NotificationKind::AdminReply,
                    Role::Admin => NotificationKind::UserMessage,
                };
                if mark.seen_count >= conversation.messages_for_reader(mark.reader_role) {
                    cancel(&mut outbox, rules, conversation, kind, now);
                }
            }
            EventPayload::ConversationCreated(_) | EventPayload::ConversationUpdated(_) => {}
        }
    }
    // A cancel in the same write applies to earlier jobs only: storage
    // cancels first, then enqueues.
    outbox
}

/// Cancels scheduled jobs of `kind` as seen (an admin who answers has seen
/// what they answer), when the rules can make such jobs at all (otherwise
/// it would be a write for nothing on every message; a job left from an
/// earlier configuration is still skipped at delivery when its messages
/// were seen).
fn cancel(
    outbox: &mut Outbox,
    rules: &NotificationRules,
    conversation: &Conversation,
    kind: NotificationKind,
    now: DateTime<Utc>,
) {
    if rules.channels_for(kind).is_empty() {
        return;
    }
    let cancel = PendingCancel {
        conversation_id: conversation.id,
        kind,
        reason: SkipReason::Seen,
        at: now,
    };
    if !outbox.cancel.contains(&cancel) {
        outbox.cancel.push(cancel);
    }
}

fn job(
    kind: NotificationKind,
    channel: Channel,
    recipient: Recipient,
    conversation: &Conversation,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind,
        channel,
        recipient,
        conversation_id: conversation.id,
        coalesce_key: coalesce_key(kind, channel, conversation),
        due_at,
        created_at: now,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{MessageContent, NewEvent, Principal, UserId};

    fn admin_reply(rules: &NotificationRules) -> Outbox {
        let now = Utc::now();
        let mut conversation = Conversation::start(UserId::parse("alice").expect("id"), now);
        let ada = Principal::admin(UserId::parse("ada").expect("id"));
        let message =
            conversation.append(&ada, MessageContent::from_stored("hi".into()), None, now);
        let events = vec![NewEvent {
            conversation_owner: conversation.user_id.clone(),
            at: now,
            payload: EventPayload::MessageCreated(message),
        }];
        outbox_for(rules, &conversation, &events, now)
    }

    #[test]
    fn a_reply_cancels_team_alerts_only_when_team_channels_exist() {
        let user_only = NotificationRules {
            user_channels: vec![Channel::Email],
            ..NotificationRules::default()
        };
        let outbox = admin_reply(&user_only);
        assert_eq!(outbox.enqueue.len(), 1, "the user is told");
        assert!(
            outbox.cancel.is_empty(),
            "no team channel: nothing to cancel"
        );

        let both = NotificationRules {
            team_channels: vec![Channel::Webhook],
            ..user_only
        };
        let outbox = admin_reply(&both);
        assert_eq!(outbox.cancel.len(), 1, "the team alert is moot");
    }

    #[test]
    fn contact_details_matter_only_for_address_channels() {
        let webhook_only = NotificationRules {
            user_channels: vec![Channel::Webhook],
            ..NotificationRules::default()
        };
        assert!(!webhook_only.reaches_user_addresses());
        let email = NotificationRules {
            user_channels: vec![Channel::Email],
            ..NotificationRules::default()
        };
        assert!(email.reaches_user_addresses());
    }
}
