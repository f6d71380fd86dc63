//! Notification paths: what a due job sends, preferences, the queue as
//! admins see it, contact details from the host.

use chrono::{DateTime, Duration, Utc};

use crate::clock::now_micros;
use crate::error::{InvalidInput, SupportError};
use crate::ids::UserId;
use crate::notification::{
    Channel, ClaimedJob, Contact, Contacts, Job, JobOutcome, JobQuery, Notification,
    NotificationKind, NotificationMessage, Preference, Prepared, Recipient, SkipReason,
    preferences,
};
use crate::policy;
use crate::principal::Principal;
use crate::storage::MessageRange;

use super::Support;

/// Most new messages one notification lists.
const MAX_LISTED: u32 = 20;

impl Support {
    /// Now, by this service's clock (microseconds, as stored).
    pub fn now(&self) -> DateTime<Utc> {
        now_micros(self.clock.as_ref())
    }

    /// Claims up to `limit` due jobs for a worker, leased for `lease`.
    pub async fn claim_jobs(
        &self,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, SupportError> {
        let now = self.now();
        Ok(self.storage.claim_jobs(now, now + lease, limit).await?)
    }

    /// Records how a claimed job ended; `false` when the claim was lost.
    pub async fn finish_job(
        &self,
        claim: &ClaimedJob,
        outcome: &JobOutcome,
    ) -> Result<bool, SupportError> {
        Ok(self.storage.finish_job(claim, outcome, self.now()).await?)
    }

    /// What a claimed job sends now, or why it sends nothing: the messages
    /// the recipient has not seen (a user: admin replies after their seen
    /// cursor; the team: the user's messages since the last answer), the
    /// recipient's switches, and their address from `contacts`.
    pub async fn prepare_delivery(
        &self,
        claim: &ClaimedJob,
        contacts: &dyn Contacts,
    ) -> Result<Prepared, SupportError> {
        let job = &claim.job;
        let viewer = match &job.recipient {
            Recipient::User(id) => id.clone(),
            // The team's view: nobody's seen cursor matters, only answers.
            Recipient::Team => UserId::parse("support-team")?,
        };
        let Some(row) = self
            .storage
            .conversation(job.conversation_id, &viewer)
            .await?
        else {
            return Ok(Prepared::Skip(SkipReason::Gone));
        };
        let conversation = row.conversation;
        // The cheap checks first, from the counters and the recipient's
        // settings; the messages are read only for a job that sends.
        let unread_replies = conversation.admin_message_count - row.viewer_seen_count.unwrap_or(0);
        let moot = match job.kind {
            NotificationKind::AdminReply => unread_replies <= 0,
            NotificationKind::UserMessage => !conversation.awaiting_reply(),
        };
        if moot {
            return Ok(Prepared::Skip(SkipReason::Seen));
        }
        let contact = match &job.recipient {
            Recipient::User(user) => {
                let stored = self.storage.preferences(user).await?;
                if !preferences::enabled(&stored, job.kind, job.channel) {
                    return Ok(Prepared::Skip(SkipReason::OptedOut));
                }
                let contact = contacts.contact(user).await?.unwrap_or_default();
                let reachable = match job.channel {
                    Channel::Email => contact.email.is_some(),
                    Channel::Sms => contact.phone.is_some(),
                    Channel::Webhook => true,
                };
                if !reachable {
                    return Ok(Prepared::Skip(SkipReason::NoAddress));
                }
                Some(contact)
            }
            Recipient::Team => None,
        };
        let mut recent = self
            .storage
            .messages(conversation.id, MessageRange::Latest { limit: 100 })
            .await?;
        recent.sort_by_key(|m| m.seq);
        let unseen: Vec<_> = match job.kind {
            NotificationKind::AdminReply => {
                let admin: Vec<_> = recent.into_iter().filter(|m| m.is_admin_message).collect();
                let skip = admin.len().saturating_sub(unread_replies as usize);
                admin.into_iter().skip(skip).collect()
            }
            NotificationKind::UserMessage => {
                let answered = recent
                    .iter()
                    .rposition(|m| m.is_admin_message)
                    .map_or(0, |i| i + 1);
                recent.into_iter().skip(answered).collect()
            }
        };
        if unseen.is_empty() {
            return Ok(Prepared::Skip(SkipReason::Seen));
        }
        let skip = unseen.len().saturating_sub(MAX_LISTED as usize);
        let messages = unseen
            .into_iter()
            .skip(skip)
            .map(|m| NotificationMessage {
                id: m.id,
                author: m.user_id,
                is_admin_message: m.is_admin_message,
                content: m.content.into_string(),
                created_at: m.created_at,
            })
            .collect();
        Ok(Prepared::Send(Notification {
            delivery_id: job.id,
            kind: job.kind,
            channel: job.channel,
            recipient: job.recipient.clone(),
            contact,
            conversation_id: conversation.id,
            conversation_owner: conversation.user_id,
            messages,
            attempt: job.attempts,
        }))
    }

    /// The caller's switches: every kind × channel, on unless switched off.
    pub async fn preferences(&self, who: &Principal) -> Result<Vec<Preference>, SupportError> {
        let stored = self.storage.preferences(&who.id).await?;
        Ok(preferences::complete(&stored))
    }

    /// Changes the caller's switches (those named; others stay) and returns
    /// them all. Naming one switch twice is invalid.
    pub async fn set_preferences(
        &self,
        who: &Principal,
        changes: &[Preference],
    ) -> Result<Vec<Preference>, SupportError> {
        for (i, change) in changes.iter().enumerate() {
            if changes[..i]
                .iter()
                .any(|p| p.kind == change.kind && p.channel == change.channel)
            {
                return Err(InvalidInput::new(
                    "preferences",
                    "names the same kind and channel twice",
                )
                .into());
            }
        }
        if !changes.is_empty() {
            self.storage
                .set_preferences(&who.id, changes, self.now())
                .await?;
        }
        self.preferences(who).await
    }

    /// The notification queue (admins), newest first. `limit` 1 to
    /// [`JobQuery::MAX_LIMIT`].
    pub async fn notification_jobs(
        &self,
        who: &Principal,
        query: JobQuery,
    ) -> Result<Vec<Job>, SupportError> {
        policy::require_admin(who, "only admins can read the notification queue")?;
        if !(1..=JobQuery::MAX_LIMIT).contains(&query.limit) {
            return Err(InvalidInput::new(
                "limit",
                format!("limit must be an integer from 1 to {}", JobQuery::MAX_LIMIT),
            )
            .into());
        }
        Ok(self.storage.jobs(&query).await?)
    }

    /// Records how to reach the caller, as the host vouched for it (e.g. a
    /// token's claims). Used by [`crate::notification::StoredContacts`].
    pub async fn remember_contact(
        &self,
        who: &Principal,
        contact: &Contact,
    ) -> Result<(), SupportError> {
        Ok(self
            .storage
            .save_contact(&who.id, contact, self.now())
            .await?)
    }
}
