//! Reading everything every actor can see after a step.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use support_core::{
    ConversationId, ConversationView, InboxRequest, MessagePage, MessagesRequest, StatusFilter,
    Support, SupportError,
};

use super::*;

/// Everything every actor can read, after one step. Conversations are
/// indexed as in the model.
pub(crate) struct Observed {
    /// Each actor's inbox.
    pub(crate) inboxes: Vec<Vec<ConversationView>>,
    /// An admin's inbox of open conversations.
    pub(crate) open: Vec<ConversationView>,
    /// An admin's inbox of conversations awaiting a reply.
    pub(crate) awaiting: Vec<ConversationView>,
    /// `[actor][conversation]`: `Support::conversation`.
    pub(crate) views: Vec<Vec<Result<ConversationView, SupportError>>>,
    /// `[actor][conversation]`: `Support::messages`.
    pub(crate) histories: Vec<Vec<Result<MessagePage, SupportError>>>,
}

pub(crate) fn storage_failure(what: &str, e: &SupportError) -> TestCaseError {
    TestCaseError::fail(format!("{what} failed: {e:?}"))
}

pub(crate) async fn observe(support: &Support, model: &Model) -> Result<Observed, TestCaseError> {
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

pub(crate) fn ids(views: &[ConversationView]) -> Vec<ConversationId> {
    views.iter().map(|v| v.conversation.id).collect()
}

pub(crate) fn model_ids(model: &Model, conversations: &[usize]) -> Vec<ConversationId> {
    conversations
        .iter()
        .map(|&c| model.conversations[c].id)
        .collect()
}
