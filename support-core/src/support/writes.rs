//! Write paths: sending, replying, closing, reopening, marking seen.

use chrono::{DateTime, Utc};

use crate::clock::now_micros;
use crate::conversation::{Conversation, ConversationStatus, ConversationView};
use crate::error::{InvalidInput, SupportError};
use crate::events::{EventPayload, NewEvent};
use crate::ids::{ConversationId, MessageId, UserId};
use crate::message::{Message, MessageView};
use crate::notification::rules;
use crate::policy;
use crate::principal::{Principal, Role};
use crate::seen::SeenMark;
use crate::storage::{Closure, WriteTx};
use crate::validation::{ClientId, MessageContent};

use super::Support;

/// The value of a check made inside a write transaction, or, when the check
/// refuses, a return with that refusal once the transaction committed (see
/// [`refuse`]). `$tx` is the transaction (`Box<dyn WriteTx>`).
macro_rules! or_refuse {
    ($tx:ident, $check:expr) => {
        match $check {
            Ok(value) => value,
            Err(refusal) => return refuse($tx, refusal.into()).await,
        }
    };
}

/// Answers a refusal (not found, forbidden, conflict, invalid input) only
/// once its transaction committed, like any success: what it read may be
/// another batched writer's work, not yet durable (storage may group
/// writers, see [`WriteTx`]), and the caller must not be told "closed" and
/// then read "open". A storage error rolls back instead.
async fn refuse<T>(tx: Box<dyn WriteTx>, error: SupportError) -> Result<T, SupportError> {
    if !matches!(error, SupportError::Storage(_)) {
        tx.commit(Vec::new()).await?;
    }
    Err(error)
}

/// A message as the caller submitted it; validated by [`Support`].
#[derive(Clone, Debug, Default)]
pub struct NewMessage {
    /// The text.
    pub content: String,
    /// Optional idempotency key.
    pub client_id: Option<String>,
}

/// The outcome of [`Support::send`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The conversation the message went to, as the sender sees it.
    pub conversation: ConversationView,
    /// The message.
    pub message: MessageView,
    /// `false` when `client_id` matched an earlier message, which is returned
    /// instead of writing a second one.
    pub created: bool,
}

/// The outcome of [`Support::post`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    /// The message.
    pub message: MessageView,
    /// `false` when `client_id` matched an earlier message.
    pub created: bool,
}

struct ValidMessage {
    content: MessageContent,
    client_id: Option<ClientId>,
}

/// Where a user's message goes when they have no open conversation.
enum Destination {
    Existing(Conversation),
    New(Conversation),
}

impl Support {
    fn validate(&self, input: NewMessage) -> Result<ValidMessage, InvalidInput> {
        Ok(ValidMessage {
            content: MessageContent::parse(&input.content, &self.config.content)?,
            client_id: input.client_id.map(ClientId::parse).transpose()?,
        })
    }

    /// A user writes to support. The message goes to the user's open
    /// conversation; when none is open, a new conversation is created in
    /// the same transaction (or, within the reopen window, the user's
    /// conversation closed most recently is reopened). Admins are refused:
    /// they reply with [`Support::post`].
    pub async fn send(&self, who: &Principal, input: NewMessage) -> Result<Sent, SupportError> {
        policy::require_user(
            who,
            "admins reply within a conversation; only users start conversations",
        )?;
        let input = self.validate(input)?;
        self.retrying(|| self.try_send(who, &input)).await
    }

    async fn try_send(&self, who: &Principal, input: &ValidMessage) -> Result<Sent, SupportError> {
        let now = now_micros(self.clock.as_ref());
        let mut tx = self.storage.begin().await?;
        if let Some(original) = self.earlier_send(tx.as_mut(), who, input).await? {
            // Commit, not drop: what this transaction read must be committed
            // before it is answered (storage may batch writers).
            tx.commit(Vec::new()).await?;
            let conversation = self.conversation(who, original.conversation_id).await?;
            let message = self.with_receipts(original).await?;
            return Ok(Sent {
                conversation,
                message,
                created: false,
            });
        }

        let destination = match tx.open_conversation_of(&who.id).await? {
            Some(open) => Destination::Existing(open),
            None => match self.reopenable(tx.as_mut(), &who.id, now).await? {
                Some(mut recent) => {
                    recent.reopen(now);
                    Destination::Existing(recent)
                }
                None => Destination::New(Conversation::start(who.id.clone(), now)),
            },
        };
        let mut events = Vec::with_capacity(3);
        let (conversation, message) = match destination {
            Destination::New(mut conversation) => {
                let message =
                    conversation.append(who, input.content.clone(), input.client_id.clone(), now);
                tx.insert_conversation(&conversation).await?;
                tx.insert_message(&message).await?;
                events.push(event(
                    &conversation,
                    now,
                    EventPayload::ConversationCreated(conversation.clone()),
                ));
                events.push(event(
                    &conversation,
                    now,
                    EventPayload::MessageCreated(message.clone()),
                ));
                (conversation, message)
            }
            Destination::Existing(conversation) => {
                self.append_and_record(tx.as_mut(), who, conversation, input, now, &mut events)
                    .await?
            }
        };
        self.commit_write(tx, &conversation, events, now).await?;

        let conversation = ConversationView {
            awaiting_reply: conversation.awaiting_reply(),
            // Sending marks everything before the new message as seen.
            unread_count: 0,
            last_message: Some(MessageView {
                message: message.clone(),
                seen_by: Vec::new(),
            }),
            conversation,
            // The sender's own name: the host knows it (a token's claim),
            // storage may not yet.
            user_name: None,
        };
        Ok(Sent {
            conversation,
            message: MessageView {
                message,
                seen_by: Vec::new(),
            },
            created: true,
        })
    }

    /// Writes a message into a given conversation. Admins may write into any
    /// conversation, and a reply to a closed one reopens it. Users may write
    /// only into their own open conversation.
    pub async fn post(
        &self,
        who: &Principal,
        conversation: ConversationId,
        input: NewMessage,
    ) -> Result<Posted, SupportError> {
        let input = self.validate(input)?;
        self.retrying(|| self.try_post(who, conversation, &input))
            .await
    }

    async fn try_post(
        &self,
        who: &Principal,
        id: ConversationId,
        input: &ValidMessage,
    ) -> Result<Posted, SupportError> {
        let now = now_micros(self.clock.as_ref());
        let mut tx = self.storage.begin().await?;
        let mut conversation = or_refuse!(tx, policy::visible(who, tx.conversation(id).await?));
        if let Some(original) = self.earlier_send(tx.as_mut(), who, input).await? {
            tx.commit(Vec::new()).await?;
            if original.conversation_id != id {
                return Err(SupportError::conflict(
                    "client_id was already used for a message in another conversation",
                ));
            }
            return Ok(Posted {
                message: self.with_receipts(original).await?,
                created: false,
            });
        }
        if conversation.status == ConversationStatus::Closed {
            match who.role {
                Role::User => {
                    let closed = SupportError::conflict(
                        "this conversation is closed; send a new message to start a new one",
                    );
                    return refuse(tx, closed).await;
                }
                Role::Admin => {
                    or_refuse!(tx, ensure_no_other_open(tx.as_mut(), &conversation).await);
                    conversation.reopen(now);
                }
            }
        }
        let mut events = Vec::with_capacity(3);
        let (conversation, message) = self
            .append_and_record(tx.as_mut(), who, conversation, input, now, &mut events)
            .await?;
        self.commit_write(tx, &conversation, events, now).await?;
        Ok(Posted {
            message: MessageView {
                message,
                seen_by: Vec::new(),
            },
            created: true,
        })
    }

    /// Closes a conversation (admins). Idempotent.
    pub async fn close(
        &self,
        who: &Principal,
        id: ConversationId,
    ) -> Result<ConversationView, SupportError> {
        self.set_status(who, id, ConversationStatus::Closed).await
    }

    /// Reopens a conversation (admins). Idempotent. Fails with a conflict
    /// when the user already has another open conversation.
    pub async fn reopen(
        &self,
        who: &Principal,
        id: ConversationId,
    ) -> Result<ConversationView, SupportError> {
        self.set_status(who, id, ConversationStatus::Open).await
    }

    async fn set_status(
        &self,
        who: &Principal,
        id: ConversationId,
        target: ConversationStatus,
    ) -> Result<ConversationView, SupportError> {
        self.retrying(|| self.try_set_status(who, id, target))
            .await?;
        self.conversation(who, id).await
    }

    async fn try_set_status(
        &self,
        who: &Principal,
        id: ConversationId,
        target: ConversationStatus,
    ) -> Result<(), SupportError> {
        let now = now_micros(self.clock.as_ref());
        let mut tx = self.storage.begin().await?;
        let mut conversation = or_refuse!(tx, policy::visible(who, tx.conversation(id).await?));
        or_refuse!(
            tx,
            policy::require_admin(who, "only admins can close or reopen conversations")
        );
        if conversation.status == target {
            tx.commit(Vec::new()).await?;
            return Ok(());
        }
        match target {
            ConversationStatus::Closed => {
                conversation.close(now);
                tx.insert_closure(&Closure {
                    conversation_id: id,
                    closed_by: who.id.clone(),
                    closed_at: now,
                })
                .await?;
            }
            ConversationStatus::Open => {
                or_refuse!(tx, ensure_no_other_open(tx.as_mut(), &conversation).await);
                conversation.reopen(now);
            }
        }
        tx.update_conversation(&conversation).await?;
        let events = vec![event(
            &conversation,
            now,
            EventPayload::ConversationUpdated(conversation.clone()),
        )];
        self.commit_write(tx, &conversation, events, now).await?;
        Ok(())
    }

    /// Marks every message of the other side up to and including `up_to` as
    /// seen by the caller. Idempotent; the cursor never moves backwards.
    pub async fn mark_seen(
        &self,
        who: &Principal,
        id: ConversationId,
        up_to: MessageId,
    ) -> Result<(), SupportError> {
        self.retrying(|| self.try_mark_seen(who, id, up_to)).await
    }

    async fn try_mark_seen(
        &self,
        who: &Principal,
        id: ConversationId,
        up_to: MessageId,
    ) -> Result<(), SupportError> {
        let now = now_micros(self.clock.as_ref());
        let mut tx = self.storage.begin().await?;
        let conversation = or_refuse!(tx, policy::visible(who, tx.conversation(id).await?));
        let message = or_refuse!(
            tx,
            tx.message(id, up_to)
                .await?
                .ok_or_else(|| InvalidInput::new("up_to", "is not a message of this conversation"))
        );
        let newest = tx.newest_seen_mark(id, &who.id).await?;
        if newest
            .as_ref()
            .is_some_and(|mark| mark.up_to_seq >= message.seq)
        {
            tx.commit(Vec::new()).await?;
            return Ok(());
        }
        let seen_count = if message.seq == conversation.message_count {
            conversation.messages_for_reader(who.role)
        } else {
            tx.count_messages(id, who.role == Role::User, message.seq)
                .await?
        };
        if seen_count <= newest.map_or(0, |mark| mark.seen_count) {
            // Nothing of the other side newly covered: no visible change.
            tx.commit(Vec::new()).await?;
            return Ok(());
        }
        let mark = SeenMark {
            conversation_id: id,
            reader_id: who.id.clone(),
            reader_role: who.role,
            up_to: message.id,
            up_to_seq: message.seq,
            seen_count,
            seen_at: now,
        };
        tx.insert_seen_mark(&mark).await?;
        let events = vec![event(&conversation, now, EventPayload::MessagesSeen(mark))];
        self.commit_write(tx, &conversation, events, now).await?;
        Ok(())
    }

    /// Ends a write that changed something: commits its events together
    /// with the notification jobs they cause (decided here, by the rules).
    /// Live delivery reads the events from the log ([`crate::LogTail`]).
    async fn commit_write(
        &self,
        tx: Box<dyn WriteTx>,
        conversation: &Conversation,
        events: Vec<NewEvent>,
        now: DateTime<Utc>,
    ) -> Result<(), SupportError> {
        let outbox = rules::outbox_for(&self.config.notifications, conversation, &events, now);
        tx.commit_with_outbox(events, outbox).await?;
        Ok(())
    }

    /// The author's earlier message with the same client id, if any.
    async fn earlier_send(
        &self,
        tx: &mut dyn WriteTx,
        who: &Principal,
        input: &ValidMessage,
    ) -> Result<Option<Message>, SupportError> {
        match &input.client_id {
            Some(client_id) => Ok(tx.message_by_client_id(&who.id, client_id).await?),
            None => Ok(None),
        }
    }

    /// The user's most recent conversation, if it was closed within the
    /// reopen window.
    async fn reopenable(
        &self,
        tx: &mut dyn WriteTx,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<Conversation>, SupportError> {
        if self.config.reopen_window <= chrono::Duration::zero() {
            return Ok(None);
        }
        let latest = tx.latest_conversation_of(user).await?;
        Ok(latest.filter(|c| {
            c.status == ConversationStatus::Closed
                && c.closed_at
                    .is_some_and(|closed| now - closed < self.config.reopen_window)
        }))
    }

    /// Appends a message to an existing conversation and records the
    /// message, the conversation change and, when the message covers
    /// messages of the other side the sender had not marked, the sender's
    /// seen mark: whoever writes has seen what they answer.
    async fn append_and_record(
        &self,
        tx: &mut dyn WriteTx,
        who: &Principal,
        mut conversation: Conversation,
        input: &ValidMessage,
        now: DateTime<Utc>,
        events: &mut Vec<NewEvent>,
    ) -> Result<(Conversation, Message), SupportError> {
        let message = conversation.append(who, input.content.clone(), input.client_id.clone(), now);
        tx.insert_message(&message).await?;
        tx.update_conversation(&conversation).await?;
        events.push(event(
            &conversation,
            now,
            EventPayload::MessageCreated(message.clone()),
        ));
        events.push(event(
            &conversation,
            now,
            EventPayload::ConversationUpdated(conversation.clone()),
        ));
        let covered = conversation.messages_for_reader(who.role);
        if covered > 0 {
            let already = tx
                .newest_seen_mark(conversation.id, &who.id)
                .await?
                .map_or(0, |mark| mark.seen_count);
            if already < covered {
                let mark = SeenMark {
                    conversation_id: conversation.id,
                    reader_id: who.id.clone(),
                    reader_role: who.role,
                    up_to: message.id,
                    up_to_seq: message.seq,
                    seen_count: covered,
                    seen_at: now,
                };
                tx.insert_seen_mark(&mark).await?;
                events.push(event(&conversation, now, EventPayload::MessagesSeen(mark)));
            }
        }
        Ok((conversation, message))
    }
}

/// Reopening must not give a user a second open conversation.
async fn ensure_no_other_open(
    tx: &mut dyn WriteTx,
    conversation: &Conversation,
) -> Result<(), SupportError> {
    match tx.open_conversation_of(&conversation.user_id).await? {
        Some(other) if other.id != conversation.id => Err(SupportError::conflict(format!(
            "the user already has another open conversation ({}); reply there",
            other.id
        ))),
        _ => Ok(()),
    }
}

fn event(conversation: &Conversation, at: DateTime<Utc>, payload: EventPayload) -> NewEvent {
    NewEvent {
        conversation_owner: conversation.user_id.clone(),
        at,
        payload,
    }
}
