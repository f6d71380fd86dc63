//! Notifications: the outbox commits with the write that causes it, the
//! rules decide who is told what and when, the queue leases jobs.

use std::collections::HashSet;

use chrono::Duration;
use support_core::notification::{NewJob, Outbox, Recipient};
use support_core::{
    Channel, ClaimedJob, Job, JobId, JobOutcome, JobQuery, JobState, NotificationKind,
    NotificationRules, Preference, SupportConfig,
};

use crate::common::{Desk, admin, user};

on_every_backend!(
    a_user_message_schedules_one_team_alert_per_window,
    an_admin_reply_schedules_the_users_notification_after_the_grace_period,
    replies_within_the_grace_period_share_one_job,
    seeing_the_replies_in_time_cancels_the_notification,
    an_admin_answer_cancels_the_team_alert,
    nobody_is_notified_about_their_own_message,
    a_committed_write_has_its_jobs,
    a_claim_leases_a_job_and_an_expired_lease_is_claimed_again,
    a_lost_claim_cannot_record_an_outcome,
    concurrent_claimers_never_share_a_job,
    retrying_jobs_wait_for_their_time_and_dead_ones_stay_dead,
    preferences_default_on_and_round_trip,
    contacts_round_trip,
    without_channels_nothing_is_queued,
);

fn rules() -> NotificationRules {
    NotificationRules {
        user_channels: vec![Channel::Email],
        team_channels: vec![Channel::Webhook],
        reply_grace: Duration::minutes(2),
        team_alert_window: Duration::minutes(1),
    }
}

fn notifying(desk: Desk) -> Desk {
    desk.configure(SupportConfig {
        notifications: rules(),
        ..SupportConfig::default()
    })
}

async fn all_jobs(desk: &Desk) -> Vec<Job> {
    let mut jobs = desk
        .support
        .notification_jobs(&admin("ada"), JobQuery::default())
        .await
        .expect("jobs");
    jobs.sort_by_key(|j| j.created_at);
    jobs
}

async fn jobs_in(desk: &Desk, state: JobState) -> Vec<Job> {
    all_jobs(desk)
        .await
        .into_iter()
        .filter(|j| j.state == state)
        .collect()
}

async fn a_user_message_schedules_one_team_alert_per_window(desk: Desk) {
    let desk = notifying(desk);
    let alice = user("alice");
    let sent = desk.send(&alice, "my invoice is wrong").await;
    let sent_at = desk.clock_now();
    desk.send(&alice, "also, the address").await;
    desk.send(&alice, "hello?").await;
    let jobs = all_jobs(&desk).await;
    assert_eq!(jobs.len(), 1, "three messages, one alert: {jobs:?}");
    let job = &jobs[0];
    assert_eq!(job.kind, NotificationKind::UserMessage);
    assert_eq!(job.recipient, Recipient::Team);
    assert_eq!(job.channel, Channel::Webhook);
    assert_eq!(job.state, JobState::Scheduled);
    assert_eq!(job.conversation_id, sent.conversation.conversation.id);
    assert_eq!(job.due_at, sent_at + Duration::minutes(1));
}

async fn an_admin_reply_schedules_the_users_notification_after_the_grace_period(desk: Desk) {
    let desk = notifying(desk);
    let id = desk.conversation_of(&user("alice"), "help").await;
    desk.post(&admin("ada"), id, "on it").await;
    let replied_at = desk.clock_now();
    let scheduled = jobs_in(&desk, JobState::Scheduled).await;
    assert_eq!(scheduled.len(), 1, "{scheduled:?}");
    let job = &scheduled[0];
    assert_eq!(job.kind, NotificationKind::AdminReply);
    assert_eq!(job.recipient, Recipient::User(user("alice").id));
    assert_eq!(job.channel, Channel::Email);
    assert_eq!(job.due_at, replied_at + Duration::minutes(2));
    assert_eq!(job.attempts, 0);
    // Not due yet: nothing to claim.
    assert!(
        desk.support
            .claim_jobs(Duration::seconds(30), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    desk.clock.advance(Duration::minutes(2));
    let claimed = desk
        .support
        .claim_jobs(Duration::seconds(30), 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].job.id, job.id);
    assert_eq!(claimed[0].job.attempts, 1);
}

async fn replies_within_the_grace_period_share_one_job(desk: Desk) {
    let desk = notifying(desk);
    let id = desk.conversation_of(&user("alice"), "help").await;
    let ada = admin("ada");
    desk.post(&ada, id, "first").await;
    desk.post(&ada, id, "second").await;
    desk.post(&admin("bob"), id, "third").await;
    let scheduled: Vec<Job> = jobs_in(&desk, JobState::Scheduled)
        .await
        .into_iter()
        .filter(|j| j.kind == NotificationKind::AdminReply)
        .collect();
    assert_eq!(scheduled.len(), 1, "{scheduled:?}");
}

async fn seeing_the_replies_in_time_cancels_the_notification(desk: Desk) {
    let desk = notifying(desk);
    let alice = user("alice");
    let id = desk.conversation_of(&alice, "help").await;
    let reply = desk.post(&admin("ada"), id, "on it").await;
    desk.tick();
    desk.support
        .mark_seen(&alice, id, reply.message.message.id)
        .await
        .expect("seen");
    assert!(
        jobs_in(&desk, JobState::Scheduled)
            .await
            .iter()
            .all(|j| j.kind != NotificationKind::AdminReply)
    );
    let cancelled = jobs_in(&desk, JobState::Cancelled).await;
    assert!(
        cancelled
            .iter()
            .any(|j| j.kind == NotificationKind::AdminReply),
        "{cancelled:?}"
    );
    // A later reply is notified again.
    desk.post(&admin("ada"), id, "one more thing").await;
    let scheduled = jobs_in(&desk, JobState::Scheduled).await;
    assert_eq!(
        scheduled
            .iter()
            .filter(|j| j.kind == NotificationKind::AdminReply)
            .count(),
        1
    );
}

async fn an_admin_answer_cancels_the_team_alert(desk: Desk) {
    let desk = notifying(desk);
    let id = desk.conversation_of(&user("alice"), "help").await;
    desk.post(&admin("ada"), id, "on it").await;
    let jobs = all_jobs(&desk).await;
    let alert = jobs
        .iter()
        .find(|j| j.kind == NotificationKind::UserMessage)
        .expect("alert");
    assert_eq!(alert.state, JobState::Cancelled);
}

async fn nobody_is_notified_about_their_own_message(desk: Desk) {
    let desk = notifying(desk);
    let alice = user("alice");
    let ada = admin("ada");
    let id = desk.conversation_of(&alice, "help").await;
    desk.post(&ada, id, "reply").await;
    desk.post(&alice, id, "thanks").await;
    desk.post(&ada, id, "welcome").await;
    for job in all_jobs(&desk).await {
        match job.kind {
            NotificationKind::AdminReply => {
                assert_eq!(job.recipient, Recipient::User(alice.id.clone()), "{job:?}")
            }
            NotificationKind::UserMessage => assert_eq!(job.recipient, Recipient::Team, "{job:?}"),
        }
        assert_ne!(job.recipient, Recipient::User(ada.id.clone()));
    }
}

fn probe_job(desk: &Desk, conversation: support_core::ConversationId) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: NotificationKind::AdminReply,
        channel: Channel::Email,
        recipient: Recipient::User(user("alice").id),
        conversation_id: conversation,
        coalesce_key: format!("probe:{}", JobId::new()),
        due_at: desk.clock_now(),
        created_at: desk.clock_now(),
    }
}

async fn a_committed_write_has_its_jobs(desk: Desk) {
    let id = desk.conversation_of(&user("alice"), "help").await;
    let storage = desk.support.storage().clone();

    // The rolled-back half (jobs applied, then the transaction lost) is in
    // group_commit.rs: a poisoned batch is the one way to fail a commit
    // after its outbox was written.
    let committed = probe_job(&desk, id);
    let tx = storage.begin().await.expect("begin");
    tx.commit_with_outbox(
        Vec::new(),
        Outbox {
            enqueue: vec![committed.clone()],
            cancel: Vec::new(),
        },
    )
    .await
    .expect("commit");
    let ids: HashSet<JobId> = all_jobs(&desk).await.into_iter().map(|j| j.id).collect();
    assert!(ids.contains(&committed.id));
}

async fn claim_due(desk: &Desk, lease: i64) -> Vec<ClaimedJob> {
    desk.support
        .claim_jobs(Duration::seconds(lease), 10)
        .await
        .expect("claim")
}

async fn a_claim_leases_a_job_and_an_expired_lease_is_claimed_again(desk: Desk) {
    let desk = notifying(desk);
    let id = desk.conversation_of(&user("alice"), "help").await;
    desk.post(&admin("ada"), id, "on it").await;
    desk.clock.advance(Duration::minutes(3));
    let first = claim_due(&desk, 30).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].job.state, JobState::Running);
    assert!(
        claim_due(&desk, 30).await.is_empty(),
        "leased: nobody else gets it"
    );
    desk.clock.advance(Duration::seconds(31));
    let second = claim_due(&desk, 30).await;
    assert_eq!(second.len(), 1, "the lease ran out: claimed again");
    assert_eq!(second[0].job.id, first[0].job.id, "same delivery id");
    assert_eq!(second[0].job.attempts, 2);
    assert!(
        desk.support
            .finish_job(&second[0], &JobOutcome::Done)
            .await
            .expect("finish")
    );
    let done = jobs_in(&desk, JobState::Done).await;
    assert_eq!(done.len(), 1);
    desk.clock.advance(Duration::hours(1));
    assert!(claim_due(&desk, 30).await.is_empty(), "done stays done");
}

async fn a_lost_claim_cannot_record_an_outcome(desk: Desk) {
    let desk = notifying(desk);
    let id = desk.conversation_of(&user("alice"), "help").await;
    desk.post(&admin("ada"), id, "on it").await;
    desk.clock.advance(Duration::minutes(3));
    let stale = claim_due(&desk, 30).await.pop().expect("claimed");
    desk.clock.advance(Duration::seconds(31));
    let fresh = claim_due(&desk, 30).await.pop().expect("claimed again");
    let recorded = desk
        .support
        .finish_job(
            &stale,
            &JobOutcome::Dead {
                error: "late".into(),
            },
        )
        .await
        .expect("finish");
    assert!(!recorded, "the stale claim changes nothing");
    assert!(
        desk.support
            .finish_job(&fresh, &JobOutcome::Done)
            .await
            .expect("finish")
    );
    assert_eq!(jobs_in(&desk, JobState::Done).await.len(), 1);
}

async fn concurrent_claimers_never_share_a_job(desk: Desk) {
    let desk = notifying(desk);
    for i in 0..40 {
        desk.send(&user(&format!("user{i}")), "help").await;
    }
    desk.clock.advance(Duration::minutes(2));
    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let support = desk.support.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = support
                        .claim_jobs(Duration::minutes(5), 3)
                        .await
                        .expect("claim");
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|c| c.job.id));
                }
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut total = 0;
    for claimer in claimers {
        for id in claimer.await.expect("claimer") {
            total += 1;
            assert!(seen.insert(id), "job {id} claimed twice");
        }
    }
    assert_eq!(total, 40);
}

async fn retrying_jobs_wait_for_their_time_and_dead_ones_stay_dead(desk: Desk) {
    let desk = notifying(desk);
    let id = desk.conversation_of(&user("alice"), "help").await;
    desk.post(&admin("ada"), id, "on it").await;
    desk.clock.advance(Duration::minutes(3));
    let claim = claim_due(&desk, 30).await.pop().expect("claimed");
    let retry_at = desk.clock_now() + Duration::seconds(10);
    assert!(
        desk.support
            .finish_job(
                &claim,
                &JobOutcome::Retry {
                    at: retry_at,
                    error: "503".into()
                }
            )
            .await
            .expect("finish")
    );
    let retrying = jobs_in(&desk, JobState::Retrying).await;
    assert_eq!(retrying.len(), 1);
    assert_eq!(retrying[0].due_at, retry_at);
    assert_eq!(retrying[0].last_error.as_deref(), Some("503"));
    desk.clock.advance(Duration::seconds(9));
    assert!(claim_due(&desk, 30).await.is_empty(), "not before its time");
    desk.clock.advance(Duration::seconds(1));
    let again = claim_due(&desk, 30).await.pop().expect("due again");
    assert_eq!(again.job.attempts, 2);
    assert!(
        desk.support
            .finish_job(
                &again,
                &JobOutcome::Dead {
                    error: "410".into()
                }
            )
            .await
            .expect("finish")
    );
    desk.clock.advance(Duration::days(1));
    assert!(claim_due(&desk, 30).await.is_empty(), "dead stays dead");
    let dead = desk
        .support
        .notification_jobs(
            &admin("ada"),
            JobQuery {
                states: vec![JobState::Dead],
                limit: 10,
            },
        )
        .await
        .expect("dead jobs");
    assert_eq!(dead.len(), 1);
    assert!(
        desk.support
            .notification_jobs(&user("alice"), JobQuery::default())
            .await
            .is_err(),
        "users may not read the queue"
    );
}

async fn preferences_default_on_and_round_trip(desk: Desk) {
    let alice = user("alice");
    let all = desk.support.preferences(&alice).await.expect("preferences");
    assert_eq!(all.len(), NotificationKind::ALL.len() * Channel::ALL.len());
    assert!(all.iter().all(|p| p.enabled));
    let off = Preference {
        kind: NotificationKind::AdminReply,
        channel: Channel::Email,
        enabled: false,
    };
    let after = desk
        .support
        .set_preferences(&alice, &[off])
        .await
        .expect("set");
    assert!(after.contains(&off));
    assert_eq!(after.iter().filter(|p| !p.enabled).count(), 1);
    // Others' switches are their own.
    let bob = desk
        .support
        .preferences(&user("bob"))
        .await
        .expect("preferences");
    assert!(bob.iter().all(|p| p.enabled));
    // Switching back on replaces the stored switch.
    let on = Preference {
        enabled: true,
        ..off
    };
    let after = desk
        .support
        .set_preferences(&alice, &[on])
        .await
        .expect("set");
    assert!(after.iter().all(|p| p.enabled));
    assert!(
        desk.support
            .set_preferences(&alice, &[on, off])
            .await
            .is_err(),
        "twice is invalid"
    );
}

async fn contacts_round_trip(desk: Desk) {
    let alice = user("alice");
    let storage = desk.support.storage().clone();
    assert_eq!(storage.contact(&alice.id).await.expect("contact"), None);
    let contact = support_core::Contact {
        name: Some("Alice".into()),
        email: Some("alice@example.com".into()),
        phone: None,
    };
    desk.support
        .remember_contact(&alice, &contact)
        .await
        .expect("remember");
    assert_eq!(
        storage.contact(&alice.id).await.expect("contact"),
        Some(contact)
    );
    assert!(!format!("{:?}", storage.contact(&alice.id).await).contains("alice@"));
}

async fn without_channels_nothing_is_queued(desk: Desk) {
    let id = desk.conversation_of(&user("alice"), "help").await;
    desk.post(&admin("ada"), id, "on it").await;
    assert!(all_jobs(&desk).await.is_empty());
}
