//! Running one operation against the real service and checking its
//! outcome against the model's prediction.

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use support_core::{ManualClock, MessageId, NewMessage, Support, SupportError};

use super::*;

pub(crate) struct Desk {
    pub(crate) support: Support,
    pub(crate) clock: Arc<ManualClock>,
}

impl Desk {
    pub(crate) fn over(storage: Arc<dyn support_core::Storage>) -> Self {
        let clock = Arc::new(ManualClock::new(start_time()));
        let support = Support::new(storage).with_clock(clock.clone());
        Self { support, clock }
    }
}

pub(crate) fn client_key(client_id: Option<u8>) -> Option<String> {
    client_id.map(|n| format!("c{n}"))
}

/// `Ok` when `result` failed the expected way.
pub(crate) fn expect_error<T: Debug>(
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

pub(crate) fn expect_ok<T>(
    result: Result<T, SupportError>,
    expected: Expect,
) -> Result<T, TestCaseError> {
    result.map_err(|e| TestCaseError::fail(format!("expected {expected:?}, got error {e:?}")))
}

pub(crate) async fn run_step(
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
