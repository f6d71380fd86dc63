//! Model-based property test: random histories of sends, replies, closes,
//! reopens and seen marks by three users and two admins, run against a real
//! database and, after every step, compared with a small in-memory model of
//! the rules. The model predicts each operation's outcome (created, replayed,
//! not found, forbidden, conflict) and the whole visible state afterwards:
//! who sees which conversations, at most one open conversation per user,
//! exact unread counts and receipts, seen cursors that never move backwards,
//! one message per `(author, client_id)`, and `awaiting_reply`.
#![allow(missing_docs, unreachable_pub)]

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use support_core::{
    ClientId, Conversation, ConversationId, ConversationStatus, ConversationView, InboxRequest,
    ManualClock, Message, MessageContent, MessageId, MessagePage, MessageView, MessagesRequest,
    NewMessage, Principal, Role, SeenReceipt, StatusFilter, Support, SupportError, UserId,
};
use support_sqlx::{PostgresStorage, SqliteStorage};

const USERS: usize = 3;
const ADMINS: usize = 2;
const ACTORS: usize = USERS + ADMINS;
/// Small on purpose, so that client ids repeat.
const CLIENT_IDS: u8 = 3;
const MIN_STEPS: usize = 8;
const MAX_STEPS: usize = 30;

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

/// Which conversation an operation aims at, resolved when it runs (the
/// conversations do not exist when the sequence is generated).
#[derive(Clone, Debug)]
enum Target {
    /// One of the actor's own conversations (any conversation for an admin).
    Own(Index),
    /// Any conversation: for a user, often a foreign one.
    Any(Index),
    /// A closed conversation the actor sees, where reopen rules bite.
    Closed(Index),
}

#[derive(Clone, Debug)]
enum Op {
    Send {
        actor: usize,
        text: String,
        client_id: Option<u8>,
    },
    Post {
        actor: usize,
        target: Target,
        text: String,
        client_id: Option<u8>,
    },
    Close {
        actor: usize,
        target: Target,
    },
    Reopen {
        actor: usize,
        target: Target,
    },
    MarkSeen {
        actor: usize,
        target: Target,
        up_to: Index,
        /// Name a message of another conversation instead.
        from_elsewhere: bool,
    },
}

fn user_actor() -> impl Strategy<Value = usize> {
    0..USERS
}

fn admin_actor() -> impl Strategy<Value = usize> {
    USERS..ACTORS
}

fn any_actor() -> impl Strategy<Value = usize> {
    0..ACTORS
}

/// A target, drawn with the given weights for own, any and closed.
fn target(own: u32, anything: u32, closed: u32) -> impl Strategy<Value = Target> {
    prop_oneof![
        own => any::<Index>().prop_map(Target::Own),
        anything => any::<Index>().prop_map(Target::Any),
        closed => any::<Index>().prop_map(Target::Closed),
    ]
}

fn text() -> impl Strategy<Value = String> {
    "[a-z]{1,6}( [a-z]{1,6})?"
}

fn client_id() -> impl Strategy<Value = Option<u8>> {
    proptest::option::weighted(0.6, 0..CLIENT_IDS)
}

fn send(actor: impl Strategy<Value = usize>) -> impl Strategy<Value = Op> {
    (actor, text(), client_id()).prop_map(|(actor, text, client_id)| Op::Send {
        actor,
        text,
        client_id,
    })
}

fn post(
    actor: impl Strategy<Value = usize>,
    target: impl Strategy<Value = Target>,
) -> impl Strategy<Value = Op> {
    (actor, target, text(), client_id()).prop_map(|(actor, target, text, client_id)| Op::Post {
        actor,
        target,
        text,
        client_id,
    })
}

fn close(
    actor: impl Strategy<Value = usize>,
    target: impl Strategy<Value = Target>,
) -> impl Strategy<Value = Op> {
    (actor, target).prop_map(|(actor, target)| Op::Close { actor, target })
}

fn reopen(
    actor: impl Strategy<Value = usize>,
    target: impl Strategy<Value = Target>,
) -> impl Strategy<Value = Op> {
    (actor, target).prop_map(|(actor, target)| Op::Reopen { actor, target })
}

fn mark_seen() -> impl Strategy<Value = Op> {
    (
        any_actor(),
        target(3, 1, 1),
        any::<Index>(),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(actor, target, up_to, from_elsewhere)| Op::MarkSeen {
            actor,
            target,
            up_to,
            from_elsewhere,
        })
}

/// Mostly what each side may do, some of what it may not: admins sending,
/// users closing, users aiming at foreign conversations.
fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => send(user_actor()),
        1 => send(admin_actor()),
        4 => post(user_actor(), target(3, 1, 1)),
        4 => post(admin_actor(), target(3, 1, 2)),
        3 => close(admin_actor(), target(3, 1, 1)),
        1 => close(user_actor(), target(3, 1, 1)),
        3 => reopen(admin_actor(), target(1, 1, 3)),
        1 => reopen(user_actor(), target(3, 1, 1)),
        5 => mark_seen(),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), MIN_STEPS..=MAX_STEPS)
}

// ---------------------------------------------------------------------------
// Actors and time
// ---------------------------------------------------------------------------

fn is_admin(actor: usize) -> bool {
    actor >= USERS
}

fn principal(actor: usize) -> Principal {
    if is_admin(actor) {
        Principal::admin(UserId::parse(format!("admin-{}", actor - USERS)).expect("valid id"))
    } else {
        Principal::user(UserId::parse(format!("user-{actor}")).expect("valid id"))
    }
}

fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
        .expect("valid time")
        .with_timezone(&Utc)
}

/// The clock moves one second before each step.
fn time_of_step(step: usize) -> DateTime<Utc> {
    start_time() + Duration::seconds(i64::try_from(step).expect("few steps") + 1)
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

struct ModelMessage {
    id: MessageId,
    author: usize,
    content: String,
    client_id: Option<String>,
    at: DateTime<Utc>,
}

/// One forward move of a reader's cursor.
struct ModelMark {
    reader: usize,
    up_to_seq: i64,
    seen_count: i64,
    at: DateTime<Utc>,
}

struct ModelConversation {
    id: ConversationId,
    owner: usize,
    open: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    first_admin_reply_at: Option<DateTime<Utc>>,
    messages: Vec<ModelMessage>,
    /// Every mark, oldest first.
    marks: Vec<ModelMark>,
}

impl ModelConversation {
    /// Messages a reader of `reader`'s side can have unread, among the
    /// first `up_to_seq`.
    fn other_side_up_to(&self, reader: usize, up_to_seq: i64) -> i64 {
        let count = self
            .messages
            .iter()
            .take(usize::try_from(up_to_seq).expect("positive seq"))
            .filter(|m| is_admin(m.author) != is_admin(reader))
            .count();
        i64::try_from(count).expect("few messages")
    }

    fn other_side(&self, reader: usize) -> i64 {
        self.other_side_up_to(reader, seq(self.messages.len()))
    }

    fn newest_mark(&self, reader: usize) -> Option<&ModelMark> {
        self.marks.iter().rev().find(|mark| mark.reader == reader)
    }

    fn unread(&self, reader: usize) -> i64 {
        let seen = self.newest_mark(reader).map_or(0, |mark| mark.seen_count);
        (self.other_side(reader) - seen).max(0)
    }

    fn awaiting_reply(&self) -> bool {
        self.open && self.messages.last().is_some_and(|m| !is_admin(m.author))
    }

    fn last_message_at(&self) -> DateTime<Utc> {
        self.messages.last().map_or(self.created_at, |m| m.at)
    }

    /// Readers of the other side whose marks cover message `index`, each at
    /// their earliest covering mark, earliest first.
    fn receipts(&self, index: usize) -> Vec<SeenReceipt> {
        let message = &self.messages[index];
        let mut receipts: Vec<SeenReceipt> = Vec::new();
        let mut readers = HashSet::new();
        for mark in &self.marks {
            let other_side = is_admin(mark.reader) != is_admin(message.author);
            if other_side && mark.up_to_seq >= seq(index + 1) && readers.insert(mark.reader) {
                receipts.push(SeenReceipt {
                    user_id: principal(mark.reader).id,
                    seen_at: mark.at,
                });
            }
        }
        receipts
    }
}

fn seq(position: usize) -> i64 {
    i64::try_from(position).expect("few messages")
}

/// What the rules say an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Fail(ErrorKind),
    /// The `(author, client_id)` was used before: the original comes back.
    Replay {
        conversation: usize,
        message: usize,
    },
    /// A new message into `conversation`, or into a new conversation.
    Write {
        conversation: Option<usize>,
        reopens: bool,
    },
    /// Close or reopen (possibly a no-op).
    SetStatus {
        conversation: usize,
        open: bool,
    },
    /// Mark seen (possibly a no-op).
    Mark {
        conversation: usize,
        up_to_seq: i64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorKind {
    NotFound,
    Forbidden,
    Conflict,
    InvalidInput,
    Storage,
}

fn kind(error: &SupportError) -> ErrorKind {
    match error {
        SupportError::NotFound { .. } => ErrorKind::NotFound,
        SupportError::Forbidden { .. } => ErrorKind::Forbidden,
        SupportError::Conflict { .. } => ErrorKind::Conflict,
        SupportError::InvalidInput(_) => ErrorKind::InvalidInput,
        SupportError::Storage(_) => ErrorKind::Storage,
    }
}

#[derive(Default)]
struct Model {
    /// In creation order.
    conversations: Vec<ModelConversation>,
    /// `(author, client_id)` to `(conversation, message)`.
    client_ids: HashMap<(usize, String), (usize, usize)>,
}

impl Model {
    fn can_see(&self, actor: usize, conversation: usize) -> bool {
        is_admin(actor) || self.conversations[conversation].owner == actor
    }

    fn open_conversation_of(&self, user: usize) -> Option<usize> {
        self.conversations
            .iter()
            .position(|c| c.owner == user && c.open)
    }

    fn resolve(&self, actor: usize, target: &Target) -> Option<usize> {
        let (index, fits): (_, &dyn Fn(usize) -> bool) = match target {
            Target::Own(index) => (index, &|c| self.can_see(actor, c)),
            Target::Any(index) => (index, &|_| true),
            Target::Closed(index) => (index, &|c| {
                self.can_see(actor, c) && !self.conversations[c].open
            }),
        };
        let fitting: Vec<usize> = (0..self.conversations.len()).filter(|&c| fits(c)).collect();
        // Nothing fits (a user without conversations, nothing closed): aim
        // at any conversation instead.
        let candidates = if fitting.is_empty() {
            (0..self.conversations.len()).collect()
        } else {
            fitting
        };
        (!candidates.is_empty()).then(|| candidates[index.index(candidates.len())])
    }

    /// Conversations `actor` sees, in inbox order (most recent message
    /// first), narrowed by `keep`.
    fn inbox(&self, actor: usize, keep: impl Fn(&ModelConversation) -> bool) -> Vec<usize> {
        let mut visible: Vec<usize> = (0..self.conversations.len())
            .filter(|&c| self.can_see(actor, c) && keep(&self.conversations[c]))
            .collect();
        visible.sort_by_key(|&c| {
            let conversation = &self.conversations[c];
            std::cmp::Reverse((conversation.last_message_at(), conversation.id))
        });
        visible
    }

    fn client_id_of(&self, actor: usize, client_id: Option<&String>) -> Option<(usize, usize)> {
        client_id.and_then(|key| self.client_ids.get(&(actor, key.clone())).copied())
    }

    fn expect_send(&self, actor: usize, client_id: Option<&String>) -> Expect {
        if is_admin(actor) {
            return Expect::Fail(ErrorKind::Forbidden);
        }
        if let Some((conversation, message)) = self.client_id_of(actor, client_id) {
            return Expect::Replay {
                conversation,
                message,
            };
        }
        // The reopen window is zero: no open conversation means a new one.
        Expect::Write {
            conversation: self.open_conversation_of(actor),
            reopens: false,
        }
    }

    fn expect_post(&self, actor: usize, c: usize, client_id: Option<&String>) -> Expect {
        if !self.can_see(actor, c) {
            return Expect::Fail(ErrorKind::NotFound);
        }
        if let Some((conversation, message)) = self.client_id_of(actor, client_id) {
            return if conversation == c {
                Expect::Replay {
                    conversation,
                    message,
                }
            } else {
                Expect::Fail(ErrorKind::Conflict)
            };
        }
        let conversation = &self.conversations[c];
        if conversation.open {
            return Expect::Write {
                conversation: Some(c),
                reopens: false,
            };
        }
        if !is_admin(actor) || self.has_other_open(c) {
            return Expect::Fail(ErrorKind::Conflict);
        }
        Expect::Write {
            conversation: Some(c),
            reopens: true,
        }
    }

    fn has_other_open(&self, c: usize) -> bool {
        self.open_conversation_of(self.conversations[c].owner)
            .is_some_and(|open| open != c)
    }

    fn expect_set_status(&self, actor: usize, c: usize, open: bool) -> Expect {
        if !self.can_see(actor, c) {
            return Expect::Fail(ErrorKind::NotFound);
        }
        if !is_admin(actor) {
            return Expect::Fail(ErrorKind::Forbidden);
        }
        if open && !self.conversations[c].open && self.has_other_open(c) {
            return Expect::Fail(ErrorKind::Conflict);
        }
        Expect::SetStatus {
            conversation: c,
            open,
        }
    }

    fn start_conversation(
        &mut self,
        owner: usize,
        id: ConversationId,
        now: DateTime<Utc>,
    ) -> usize {
        self.conversations.push(ModelConversation {
            id,
            owner,
            open: true,
            created_at: now,
            updated_at: now,
            closed_at: None,
            first_admin_reply_at: None,
            messages: Vec::new(),
            marks: Vec::new(),
        });
        self.conversations.len() - 1
    }

    /// Appends a message; whoever writes has seen what they answer.
    fn append(
        &mut self,
        c: usize,
        author: usize,
        id: MessageId,
        content: &str,
        client_id: Option<String>,
        now: DateTime<Utc>,
    ) -> usize {
        let conversation = &mut self.conversations[c];
        conversation.open = true;
        conversation.updated_at = now;
        if is_admin(author) {
            conversation.first_admin_reply_at.get_or_insert(now);
        }
        conversation.messages.push(ModelMessage {
            id,
            author,
            content: content.trim().to_owned(),
            client_id: client_id.clone(),
            at: now,
        });
        let index = conversation.messages.len() - 1;
        let covered = conversation.other_side(author);
        let already = conversation
            .newest_mark(author)
            .map_or(0, |mark| mark.seen_count);
        if covered > 0 && already < covered {
            conversation.marks.push(ModelMark {
                reader: author,
                up_to_seq: seq(index + 1),
                seen_count: covered,
                at: now,
            });
        }
        if let Some(key) = client_id {
            self.client_ids.insert((author, key), (c, index));
        }
        index
    }

    fn set_status(&mut self, c: usize, open: bool, now: DateTime<Utc>) {
        let conversation = &mut self.conversations[c];
        if conversation.open == open {
            return;
        }
        conversation.open = open;
        conversation.updated_at = now;
        if !open {
            conversation.closed_at = Some(now);
        }
    }

    /// The cursor moves only forward, and only when it covers another
    /// other-side message.
    fn mark_seen(&mut self, c: usize, reader: usize, up_to_seq: i64, now: DateTime<Utc>) {
        let conversation = &mut self.conversations[c];
        let newest = conversation.newest_mark(reader);
        if newest.is_some_and(|mark| mark.up_to_seq >= up_to_seq) {
            return;
        }
        let seen_count = conversation.other_side_up_to(reader, up_to_seq);
        if seen_count <= newest.map_or(0, |mark| mark.seen_count) {
            return;
        }
        conversation.marks.push(ModelMark {
            reader,
            up_to_seq,
            seen_count,
            at: now,
        });
    }

    // What the library should return, built from the model.

    fn conversation(&self, c: usize) -> Conversation {
        let model = &self.conversations[c];
        let count = |admin: bool| {
            let n = model
                .messages
                .iter()
                .filter(|m| is_admin(m.author) == admin)
                .count();
            i64::try_from(n).expect("few messages")
        };
        Conversation {
            id: model.id,
            user_id: principal(model.owner).id,
            status: if model.open {
                ConversationStatus::Open
            } else {
                ConversationStatus::Closed
            },
            created_at: model.created_at,
            updated_at: model.updated_at,
            last_message_at: model.last_message_at(),
            closed_at: model.closed_at,
            message_count: seq(model.messages.len()),
            user_message_count: count(false),
            admin_message_count: count(true),
            last_message_from_admin: model.messages.last().is_some_and(|m| is_admin(m.author)),
            first_admin_reply_at: model.first_admin_reply_at,
        }
    }

    fn message(&self, c: usize, index: usize) -> Message {
        let conversation = &self.conversations[c];
        let message = &conversation.messages[index];
        Message {
            id: message.id,
            conversation_id: conversation.id,
            seq: seq(index + 1),
            user_id: principal(message.author).id,
            content: MessageContent::from_stored(message.content.clone()),
            is_admin_message: is_admin(message.author),
            client_id: message
                .client_id
                .clone()
                .map(|key| ClientId::parse(key).expect("valid client id")),
            created_at: message.at,
            updated_at: message.at,
        }
    }

    fn message_view(&self, c: usize, index: usize) -> MessageView {
        MessageView {
            message: self.message(c, index),
            seen_by: self.conversations[c].receipts(index),
        }
    }

    fn view(&self, c: usize, viewer: usize) -> ConversationView {
        let conversation = &self.conversations[c];
        ConversationView {
            conversation: self.conversation(c),
            last_message: conversation
                .messages
                .len()
                .checked_sub(1)
                .map(|last| self.message_view(c, last)),
            unread_count: conversation.unread(viewer),
            awaiting_reply: conversation.awaiting_reply(),
        }
    }
}

// ---------------------------------------------------------------------------
// Running a step
// ---------------------------------------------------------------------------

struct Desk {
    support: Support,
    clock: Arc<ManualClock>,
}

impl Desk {
    fn over(storage: Arc<dyn support_core::Storage>) -> Self {
        let clock = Arc::new(ManualClock::new(start_time()));
        let support = Support::new(storage).with_clock(clock.clone());
        Self { support, clock }
    }
}

fn client_key(client_id: Option<u8>) -> Option<String> {
    client_id.map(|n| format!("c{n}"))
}

/// `Ok` when `result` failed the expected way.
fn expect_error<T: Debug>(
    result: Result<T, SupportError>,
    expected: ErrorKind,
) -> Result<(), TestCaseError> {
    match result {
        Err(e) if kind(&e) == expected => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "expected {expected:?}, got {other:?}"
        ))),
    }
}

fn expect_ok<T>(result: Result<T, SupportError>, expected: Expect) -> Result<T, TestCaseError> {
    result.map_err(|e| TestCaseError::fail(format!("expected {expected:?}, got error {e:?}")))
}

async fn run_step(
    desk: &Desk,
    model: &mut Model,
    op: &Op,
    now: DateTime<Utc>,
) -> Result<(), TestCaseError> {
    let support = &desk.support;
    match op {
        Op::Send {
            actor,
            text,
            client_id,
        } => {
            let actor = *actor;
            let key = client_key(*client_id);
            let expected = model.expect_send(actor, key.as_ref());
            let input = NewMessage {
                content: text.clone(),
                client_id: key.clone(),
            };
            let result = support.send(&principal(actor), input).await;
            match expected {
                Expect::Fail(error) => expect_error(result, error)?,
                Expect::Replay {
                    conversation,
                    message,
                } => {
                    let sent = expect_ok(result, expected)?;
                    prop_assert!(!sent.created, "a repeated client id creates nothing");
                    prop_assert_eq!(&sent.message, &model.message_view(conversation, message));
                    prop_assert_eq!(&sent.conversation, &model.view(conversation, actor));
                }
                Expect::Write { conversation, .. } => {
                    let sent = expect_ok(result, expected)?;
                    prop_assert!(sent.created);
                    let c = match conversation {
                        Some(c) => c,
                        None => {
                            model.start_conversation(actor, sent.conversation.conversation.id, now)
                        }
                    };
                    prop_assert_eq!(
                        sent.conversation.conversation.id,
                        model.conversations[c].id,
                        "send goes to the user's open conversation"
                    );
                    let index = model.append(c, actor, sent.message.message.id, text, key, now);
                    prop_assert_eq!(&sent.message, &model.message_view(c, index));
                    prop_assert_eq!(&sent.conversation, &model.view(c, actor));
                }
                other => unreachable!("send never expects {other:?}"),
            }
        }
        Op::Post {
            actor,
            target,
            text,
            client_id,
        } => {
            let actor = *actor;
            let Some(c) = model.resolve(actor, target) else {
                return Ok(());
            };
            let key = client_key(*client_id);
            let expected = model.expect_post(actor, c, key.as_ref());
            let input = NewMessage {
                content: text.clone(),
                client_id: key.clone(),
            };
            let id = model.conversations[c].id;
            let result = support.post(&principal(actor), id, input).await;
            match expected {
                Expect::Fail(error) => expect_error(result, error)?,
                Expect::Replay {
                    conversation,
                    message,
                } => {
                    let posted = expect_ok(result, expected)?;
                    prop_assert!(!posted.created, "a repeated client id creates nothing");
                    prop_assert_eq!(&posted.message, &model.message_view(conversation, message));
                }
                Expect::Write { .. } => {
                    let posted = expect_ok(result, expected)?;
                    prop_assert!(posted.created);
                    let index = model.append(c, actor, posted.message.message.id, text, key, now);
                    prop_assert_eq!(&posted.message, &model.message_view(c, index));
                }
                other => unreachable!("post never expects {other:?}"),
            }
        }
        Op::Close { actor, target } | Op::Reopen { actor, target } => {
            let actor = *actor;
            let Some(c) = model.resolve(actor, target) else {
                return Ok(());
            };
            let open = matches!(op, Op::Reopen { .. });
            let expected = model.expect_set_status(actor, c, open);
            let id = model.conversations[c].id;
            let result = if open {
                support.reopen(&principal(actor), id).await
            } else {
                support.close(&principal(actor), id).await
            };
            match expected {
                Expect::Fail(error) => expect_error(result, error)?,
                Expect::SetStatus { conversation, open } => {
                    let view = expect_ok(result, expected)?;
                    model.set_status(conversation, open, now);
                    prop_assert_eq!(&view, &model.view(conversation, actor));
                }
                other => unreachable!("close and reopen never expect {other:?}"),
            }
        }
        Op::MarkSeen {
            actor,
            target,
            up_to,
            from_elsewhere,
        } => {
            let actor = *actor;
            let Some(c) = model.resolve(actor, target) else {
                return Ok(());
            };
            let conversation = &model.conversations[c];
            let index = up_to.index(conversation.messages.len());
            let (message, expected) = if *from_elsewhere {
                let elsewhere = (c + 1) % model.conversations.len();
                let message = if elsewhere == c {
                    MessageId::new()
                } else {
                    let messages = &model.conversations[elsewhere].messages;
                    messages[up_to.index(messages.len())].id
                };
                let error = if model.can_see(actor, c) {
                    ErrorKind::InvalidInput
                } else {
                    ErrorKind::NotFound
                };
                (message, Expect::Fail(error))
            } else if model.can_see(actor, c) {
                let expected = Expect::Mark {
                    conversation: c,
                    up_to_seq: seq(index + 1),
                };
                (conversation.messages[index].id, expected)
            } else {
                (
                    conversation.messages[index].id,
                    Expect::Fail(ErrorKind::NotFound),
                )
            };
            let result = support
                .mark_seen(&principal(actor), conversation.id, message)
                .await;
            match expected {
                Expect::Fail(error) => expect_error(result, error)?,
                Expect::Mark {
                    conversation,
                    up_to_seq,
                } => {
                    expect_ok(result, expected)?;
                    model.mark_seen(conversation, actor, up_to_seq, now);
                }
                other => unreachable!("mark_seen never expects {other:?}"),
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Observing the whole visible state
// ---------------------------------------------------------------------------

/// Everything every actor can read, after one step. Conversations are
/// indexed as in the model.
struct Observed {
    /// Each actor's inbox.
    inboxes: Vec<Vec<ConversationView>>,
    /// An admin's inbox of open conversations.
    open: Vec<ConversationView>,
    /// An admin's inbox of conversations awaiting a reply.
    awaiting: Vec<ConversationView>,
    /// `[actor][conversation]`: `Support::conversation`.
    views: Vec<Vec<Result<ConversationView, SupportError>>>,
    /// `[actor][conversation]`: `Support::messages`.
    histories: Vec<Vec<Result<MessagePage, SupportError>>>,
}

fn storage_failure(what: &str, e: &SupportError) -> TestCaseError {
    TestCaseError::fail(format!("{what} failed: {e:?}"))
}

async fn observe(support: &Support, model: &Model) -> Result<Observed, TestCaseError> {
    let all = InboxRequest {
        limit: Some(100),
        ..InboxRequest::default()
    };
    let mut inboxes = Vec::with_capacity(ACTORS);
    let mut views = Vec::with_capacity(ACTORS);
    let mut histories = Vec::with_capacity(ACTORS);
    for actor in 0..ACTORS {
        let who = principal(actor);
        let page = support
            .conversations(&who, all.clone())
            .await
            .map_err(|e| storage_failure("listing", &e))?;
        prop_assert!(page.next_cursor.is_none(), "everything fits one page");
        inboxes.push(page.items);
        let mut actor_views = Vec::with_capacity(model.conversations.len());
        let mut actor_histories = Vec::with_capacity(model.conversations.len());
        for conversation in &model.conversations {
            actor_views.push(support.conversation(&who, conversation.id).await);
            let request = MessagesRequest {
                limit: Some(200),
                ..MessagesRequest::default()
            };
            actor_histories.push(support.messages(&who, conversation.id, request).await);
        }
        views.push(actor_views);
        histories.push(actor_histories);
    }
    let admin = principal(USERS);
    let open = support
        .conversations(
            &admin,
            InboxRequest {
                status: StatusFilter::Open,
                ..all.clone()
            },
        )
        .await
        .map_err(|e| storage_failure("open listing", &e))?
        .items;
    let awaiting = support
        .conversations(
            &admin,
            InboxRequest {
                awaiting_reply: true,
                ..all
            },
        )
        .await
        .map_err(|e| storage_failure("awaiting listing", &e))?
        .items;
    Ok(Observed {
        inboxes,
        open,
        awaiting,
        views,
        histories,
    })
}

fn ids(views: &[ConversationView]) -> Vec<ConversationId> {
    views.iter().map(|v| v.conversation.id).collect()
}

fn model_ids(model: &Model, conversations: &[usize]) -> Vec<ConversationId> {
    conversations
        .iter()
        .map(|&c| model.conversations[c].id)
        .collect()
}

// ---------------------------------------------------------------------------
// The rules, checked after every step
// ---------------------------------------------------------------------------

/// A user's inbox holds exactly their own conversations (an admin's: all),
/// and reading a foreign conversation or its history is *not found*.
fn users_see_only_their_own_conversations(
    model: &Model,
    seen: &Observed,
) -> Result<(), TestCaseError> {
    for actor in 0..ACTORS {
        prop_assert_eq!(
            ids(&seen.inboxes[actor]),
            model_ids(model, &model.inbox(actor, |_| true)),
            "inbox of {}",
            principal(actor).id
        );
        for c in 0..model.conversations.len() {
            let view = &seen.views[actor][c];
            let history = &seen.histories[actor][c];
            if model.can_see(actor, c) {
                prop_assert!(view.is_ok(), "{} reads #{c}: {view:?}", principal(actor).id);
                prop_assert!(
                    history.is_ok(),
                    "{} history #{c}: {history:?}",
                    principal(actor).id
                );
            } else {
                prop_assert!(
                    matches!(view, Err(SupportError::NotFound { .. })),
                    "{} reads foreign #{c}: {view:?}",
                    principal(actor).id
                );
                prop_assert!(
                    matches!(history, Err(SupportError::NotFound { .. })),
                    "{} reads foreign history #{c}: {history:?}",
                    principal(actor).id
                );
            }
        }
    }
    Ok(())
}

/// At most one open conversation per user, and exactly the model's.
fn each_user_has_at_most_one_open_conversation(
    model: &Model,
    seen: &Observed,
) -> Result<(), TestCaseError> {
    let mut owners = HashSet::new();
    for view in &seen.open {
        prop_assert!(
            owners.insert(view.conversation.user_id.clone()),
            "{:?} has two open conversations",
            view.conversation.user_id
        );
    }
    prop_assert_eq!(
        ids(&seen.open),
        model_ids(model, &model.inbox(USERS, |c| c.open))
    );
    Ok(())
}

/// Every reader's unread count on every conversation they see is exact, in
/// the single view and in the inbox.
fn unread_counts_are_exact(model: &Model, seen: &Observed) -> Result<(), TestCaseError> {
    for actor in 0..ACTORS {
        for c in 0..model.conversations.len() {
            if let Ok(view) = &seen.views[actor][c] {
                prop_assert_eq!(
                    view.unread_count,
                    model.conversations[c].unread(actor),
                    "unread of #{} for {}",
                    c,
                    principal(actor).id
                );
            }
        }
        for (row, &c) in seen.inboxes[actor]
            .iter()
            .zip(&model.inbox(actor, |_| true))
        {
            prop_assert_eq!(
                row.unread_count,
                model.conversations[c].unread(actor),
                "inbox unread of #{} for {}",
                c,
                principal(actor).id
            );
        }
    }
    Ok(())
}

/// Without a new message from the other side, a reader's unread count never
/// grows, and a message once seen by a reader stays seen, at the same time.
fn seen_never_moves_backwards(
    before: Option<&Observed>,
    after: &Observed,
) -> Result<(), TestCaseError> {
    let Some(before) = before else {
        return Ok(());
    };
    for actor in 0..ACTORS {
        let role = if is_admin(actor) {
            Role::Admin
        } else {
            Role::User
        };
        for (c, (old, new)) in before.views[actor]
            .iter()
            .zip(&after.views[actor])
            .enumerate()
        {
            let (Ok(old), Ok(new)) = (old, new) else {
                continue;
            };
            if old.conversation.messages_for_reader(role)
                == new.conversation.messages_for_reader(role)
            {
                prop_assert!(
                    new.unread_count <= old.unread_count,
                    "unread of #{} for {} grew from {} to {} without a new message",
                    c,
                    principal(actor).id,
                    old.unread_count,
                    new.unread_count
                );
            }
        }
    }
    let admin = USERS;
    for (c, (old, new)) in before.histories[admin]
        .iter()
        .zip(&after.histories[admin])
        .enumerate()
    {
        let (Ok(old), Ok(new)) = (old, new) else {
            continue;
        };
        for (old, new) in old.items.iter().zip(&new.items) {
            for receipt in &old.seen_by {
                prop_assert!(
                    new.seen_by.contains(receipt),
                    "receipt {:?} on message {} of #{} disappeared",
                    receipt,
                    old.message.seq,
                    c
                );
            }
        }
    }
    Ok(())
}

/// No two messages share an `(author, client_id)`.
fn client_ids_never_duplicate_a_message(
    model: &Model,
    seen: &Observed,
) -> Result<(), TestCaseError> {
    let mut keys = HashSet::new();
    let mut total = 0;
    for page in seen.histories[USERS].iter().flatten() {
        for item in &page.items {
            total += 1;
            if let Some(client_id) = &item.message.client_id {
                prop_assert!(
                    keys.insert((item.message.user_id.clone(), client_id.clone())),
                    "{:?} used {:?} twice",
                    item.message.user_id,
                    client_id
                );
            }
        }
    }
    let expected: usize = model.conversations.iter().map(|c| c.messages.len()).sum();
    prop_assert_eq!(total, expected, "messages in all histories");
    Ok(())
}

/// `awaiting_reply`: open, and the user spoke last.
fn awaiting_reply_follows_the_last_speaker(
    model: &Model,
    seen: &Observed,
) -> Result<(), TestCaseError> {
    for actor in 0..ACTORS {
        for c in 0..model.conversations.len() {
            if let Ok(view) = &seen.views[actor][c] {
                prop_assert_eq!(
                    view.awaiting_reply,
                    model.conversations[c].awaiting_reply(),
                    "awaiting_reply of #{}",
                    c
                );
            }
        }
    }
    prop_assert_eq!(
        ids(&seen.awaiting),
        model_ids(
            model,
            &model.inbox(USERS, ModelConversation::awaiting_reply)
        )
    );
    Ok(())
}

/// Everything else a reader sees (status, counters, timestamps, last
/// message, history, receipts) is what the model says.
fn every_view_matches_the_model(model: &Model, seen: &Observed) -> Result<(), TestCaseError> {
    for actor in 0..ACTORS {
        for (row, &c) in seen.inboxes[actor]
            .iter()
            .zip(&model.inbox(actor, |_| true))
        {
            prop_assert_eq!(row, &model.view(c, actor), "inbox row #{}", c);
        }
        for c in 0..model.conversations.len() {
            if let Ok(view) = &seen.views[actor][c] {
                prop_assert_eq!(view, &model.view(c, actor), "view of #{}", c);
            }
            if let Ok(page) = &seen.histories[actor][c] {
                let expected: Vec<MessageView> = (0..model.conversations[c].messages.len())
                    .map(|index| model.message_view(c, index))
                    .collect();
                prop_assert_eq!(&page.items, &expected, "history of #{}", c);
                prop_assert!(!page.has_more);
            }
        }
    }
    Ok(())
}

async fn run(desk: Desk, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut model = Model::default();
    let mut previous: Option<Observed> = None;
    for (step, op) in ops.iter().enumerate() {
        desk.clock.advance(Duration::seconds(1));
        let now = time_of_step(step);
        let context = |e: TestCaseError| match e {
            TestCaseError::Fail(reason) => {
                TestCaseError::fail(format!("step {step} ({op:?}): {reason}"))
            }
            other => other,
        };
        run_step(&desk, &mut model, op, now)
            .await
            .map_err(context)?;
        let seen = observe(&desk.support, &model).await.map_err(context)?;
        users_see_only_their_own_conversations(&model, &seen).map_err(context)?;
        each_user_has_at_most_one_open_conversation(&model, &seen).map_err(context)?;
        unread_counts_are_exact(&model, &seen).map_err(context)?;
        seen_never_moves_backwards(previous.as_ref(), &seen).map_err(context)?;
        client_ids_never_duplicate_a_message(&model, &seen).map_err(context)?;
        awaiting_reply_follows_the_last_speaker(&model, &seen).map_err(context)?;
        every_view_matches_the_model(&model, &seen).map_err(context)?;
        previous = Some(seen);
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // A failing case is reported with its shrunk operations; no
        // regression file is written into the source tree.
        failure_persistence: None,
        // Every shrink step replays a history on a fresh database.
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Every rule holds after every step of a random history, on SQLite.
    #[test]
    fn random_histories_keep_every_inbox_rule_on_sqlite(ops in ops()) {
        runtime().block_on(async {
            let storage = SqliteStorage::connect("sqlite::memory:")
                .await
                .expect("open in-memory SQLite");
            run(Desk::over(Arc::new(storage)), &ops).await
        })?;
    }
}

proptest! {
    #![proptest_config(config(12))]

    /// Every rule holds after every step of a random history, on PostgreSQL
    /// (a fresh schema per case).
    #[test]
    fn random_histories_keep_every_inbox_rule_on_postgres(ops in ops()) {
        runtime().block_on(async {
            let Some(pool) = support_test_harness::postgres_pool().await else {
                return Ok(());
            };
            let storage = PostgresStorage::new(pool.clone());
            storage.migrate().await.expect("migrate PostgreSQL");
            let outcome = run(Desk::over(Arc::new(storage)), &ops).await;
            pool.close().await;
            outcome
        })?;
    }
}
