//! Typing and presence of this process: the signals its callers send, the
//! signals it hears from every process (its own included) over the
//! storage's [`EphemeralBus`], and the team's presence its subscribers see.
//!
//! - A typing signal is checked (the caller may see the conversation),
//!   throttled per caller and conversation, and published on the bus; each
//!   process hands what it hears to its [`LiveHub`], which routes it like
//!   the conversation's events.
//! - Admins with a live stream open here are this process's
//!   [`NodePresence`]; it is reported on the bus at once when it changes
//!   and every [`PresenceConfig::beat_every`]. Every process folds the
//!   reports into a [`TeamPresence`] and sets the hub's presence from it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use support_core::ephemeral::MAX_SIGNAL_BYTES;
use support_core::presence::{BeatEntry, PresenceBeat};
use support_core::{
    AdminActivity, ConversationId, Ephemeral, EphemeralBus, InvalidInput, NodeId, NodePresence,
    PresenceConfig, Principal, Role, Support, SupportError, TeamPresence, TypingThrottle, UserId,
    Viewing,
};
use tokio::sync::{Notify, mpsc};

use super::hub::{LiveHub, Presence, PresenceSnapshot, lock};

/// Typers a process throttles at once, at most (beyond, signals are
/// dropped until older ones are forgotten).
const THROTTLE_CAPACITY: usize = 100_000;

/// Presence signals queued for the bus at most.
const OUTGOING_CAPACITY: usize = 1024;

/// How often one admin's sends are told to the other processes, at most.
const TELL_ACTIVITY_EVERY: Duration = Duration::from_secs(10);

/// How often the team's usual response time is read again.
const USUAL_RESPONSE_EVERY: Duration = Duration::from_secs(600);

/// Longest wait between two checks for expired presence.
const MAX_TICK: Duration = Duration::from_secs(1);

/// Timings of typing signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypingConfig {
    /// At most one signal per caller per conversation this often (default
    /// 2 s); extra ones are accepted and dropped.
    pub every: Duration,
    /// How long receivers show a signal without a newer one (default 6 s).
    pub expiry: Duration,
    /// Whether a user sees the name of the admin who types (default: no,
    /// "Support is typing").
    pub admin_names_to_users: bool,
}

impl Default for TypingConfig {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(2),
            expiry: Duration::from_secs(6),
            admin_names_to_users: false,
        }
    }
}

/// Typing and presence of one process.
pub(crate) struct Team {
    bus: Arc<dyn EphemeralBus>,
    hub: LiveHub,
    node: Mutex<NodePresence>,
    throttle: Mutex<TypingThrottle>,
    /// This process's presence changed: report it now.
    changed: Notify,
    /// Signals for the publisher task, so that no caller and not the
    /// presence loop waits for the bus.
    outgoing: mpsc::Sender<Ephemeral>,
    /// When each admin's sends were last told to the other processes.
    activity_told: Mutex<HashMap<UserId, Instant>>,
    /// Conversations' users, remembered from typing signals (a
    /// conversation never changes hands), so a repeated signal reads
    /// nothing.
    owners: Mutex<HashMap<ConversationId, UserId>>,
    usual_first_response: Mutex<Option<Duration>>,
    typing: TypingConfig,
    presence: PresenceConfig,
}

/// What [`Team::new`] leaves to start: the publisher's queue.
pub(crate) struct Outgoing(mpsc::Receiver<Ephemeral>);

impl Team {
    /// Checks the timings and makes the team; [`run`] it with the
    /// returned queue.
    pub(crate) fn new(
        bus: Arc<dyn EphemeralBus>,
        hub: LiveHub,
        typing: TypingConfig,
        presence: PresenceConfig,
    ) -> Result<(Self, Outgoing), InvalidInput> {
        check_timings(&typing, &presence)?;
        let (outgoing, queue) = mpsc::channel(OUTGOING_CAPACITY);
        let team = Self {
            bus,
            hub,
            node: Mutex::new(NodePresence::new(NodeId::unique(), presence)),
            throttle: Mutex::new(TypingThrottle::new(typing.every, THROTTLE_CAPACITY)),
            changed: Notify::new(),
            outgoing,
            activity_told: Mutex::new(HashMap::new()),
            owners: Mutex::new(HashMap::new()),
            usual_first_response: Mutex::new(None),
            typing,
            presence,
        };
        Ok((team, Outgoing(queue)))
    }

    pub(crate) fn typing_config(&self) -> &TypingConfig {
        &self.typing
    }

    /// `who` types in `conversation`. Not found unless they may see it;
    /// within the throttle interval, accepted and dropped.
    pub(crate) async fn typing(
        &self,
        support: &Support,
        who: &Principal,
        name: Option<&str>,
        conversation: ConversationId,
    ) -> Result<(), SupportError> {
        if lock(&self.throttle).admitted_recently(&who.id, conversation, Instant::now()) {
            // Admitted moments ago, so they may see it: nothing to check.
            return Ok(());
        }
        let known_owner = lock(&self.owners).get(&conversation).cloned();
        let signal = support
            .typing(who, conversation, name, self.typing.expiry, known_owner)
            .await?;
        {
            let mut owners = lock(&self.owners);
            if owners.len() >= THROTTLE_CAPACITY {
                owners.clear();
            }
            owners.insert(conversation, signal.conversation_owner.clone());
        }
        if !lock(&self.throttle).admit(&who.id, conversation, Instant::now()) {
            return Ok(());
        }
        // Every process that hears an admin type counts it as activity.
        self.bus.publish(&Ephemeral::Typing(signal)).await?;
        Ok(())
    }

    /// `who` sent a message in `conversation`: their typing there is over
    /// (receivers end it on the message; what they typed before it is
    /// dropped for a moment), and it is activity.
    pub(crate) fn sent(&self, who: &Principal, conversation: ConversationId) {
        let now = Instant::now();
        lock(&self.throttle).sent(&who.id, conversation, now);
        if !who.is_admin() {
            return;
        }
        self.active_here(&who.id, now);
        let mut told = lock(&self.activity_told);
        if told
            .get(&who.id)
            .is_some_and(|at| now.saturating_duration_since(*at) < TELL_ACTIVITY_EVERY)
        {
            return;
        }
        if told.len() >= THROTTLE_CAPACITY {
            told.clear();
        }
        told.insert(who.id.clone(), now);
        drop(told);
        self.send(Ephemeral::Active(AdminActivity {
            admin: who.id.clone(),
            viewing: None,
        }));
    }

    /// Admin `who` looks at `conversation` (or at none): told to every
    /// process, since their stream may be held by another.
    pub(crate) fn viewing(&self, who: &Principal, conversation: Option<ConversationId>) {
        let viewing = conversation.map_or(Viewing::Nothing, Viewing::Conversation);
        self.apply(&AdminActivity {
            admin: who.id.clone(),
            viewing: Some(viewing),
        });
        self.send(Ephemeral::Active(AdminActivity {
            admin: who.id.clone(),
            viewing: Some(viewing),
        }));
    }

    fn active_here(&self, admin: &UserId, now: Instant) {
        if lock(&self.node).active(admin, now) {
            self.changed.notify_one();
        }
    }

    /// Activity of an admin, from here or another process: counted where
    /// they have a stream open.
    fn apply(&self, activity: &AdminActivity) {
        let now = Instant::now();
        let changed = match activity.viewing {
            Some(viewing) => lock(&self.node).viewing(&activity.admin, viewing.conversation(), now),
            None => lock(&self.node).active(&activity.admin, now),
        };
        if changed {
            self.changed.notify_one();
        }
    }

    /// Queues `signal` for the publisher; dropped (and logged) when the
    /// queue is full: these signals are repeated or superseded.
    fn send(&self, signal: Ephemeral) {
        if self.outgoing.try_send(signal).is_err() {
            tracing::debug!("presence signal dropped: the bus is behind");
        }
    }

    /// A live stream opened: an admin is present here until the returned
    /// guard drops (and for the grace period after their last one).
    pub(crate) fn connected(
        self: &Arc<Self>,
        who: &Principal,
        name: Option<&str>,
    ) -> Option<Present> {
        if !who.is_admin() {
            return None;
        }
        let name = support_core::typing::signal_name(name);
        lock(&self.node).connected(&who.id, name, Instant::now());
        self.changed.notify_one();
        Some(Present {
            team: Arc::clone(self),
            who: who.clone(),
        })
    }

    /// The team's presence as this process knows it.
    pub(crate) fn presence(&self) -> Arc<Presence> {
        self.hub.presence()
    }

    /// Reports this process's admins (split to fit a signal), and those
    /// whose grace period ended as left: when that differs from the
    /// `last` report, or when `due` anyway.
    fn report(&self, last: &mut Option<PresenceBeat>, due: bool) {
        let (beat, left) = lock(&self.node).report(Instant::now());
        if !due && left.is_empty() && last.as_ref() == Some(&beat) {
            return;
        }
        *last = Some(beat.clone());
        for signal in left
            .into_iter()
            .map(Ephemeral::Left)
            .chain(split(beat).into_iter().map(Ephemeral::Presence))
        {
            self.send(signal);
        }
    }
}

/// Refuses timings that cannot work: a report interval of zero, or one
/// that leaves a report's lifetime under two intervals (presence would
/// flicker).
fn check_timings(typing: &TypingConfig, presence: &PresenceConfig) -> Result<(), InvalidInput> {
    if typing.every.is_zero() || typing.expiry.is_zero() {
        return Err(InvalidInput::new(
            "typing",
            "the throttle interval and the expiry must be above zero",
        ));
    }
    let tick = tick_every(presence);
    if presence.beat_every.is_zero()
        || presence.grace.saturating_sub(tick) < presence.beat_every * 2
    {
        return Err(InvalidInput::new(
            "presence",
            "beat_every must be above zero and at most a third of grace",
        ));
    }
    Ok(())
}

/// How often presence is checked for what expired or changed.
fn tick_every(presence: &PresenceConfig) -> Duration {
    (presence.grace / 10).min(MAX_TICK)
}

/// An admin's live stream, for presence: dropping it closes the
/// connection.
pub(crate) struct Present {
    team: Arc<Team>,
    who: Principal,
}

impl Drop for Present {
    fn drop(&mut self) {
        lock(&self.team.node).disconnected(&self.who.id, Instant::now());
        self.team.changed.notify_one();
    }
}

/// Splits a report into parts that each encode within
/// [`MAX_SIGNAL_BYTES`] (an empty report is no part).
fn split(beat: PresenceBeat) -> Vec<PresenceBeat> {
    // The envelope, with room to spare.
    const ENVELOPE: usize = 128;
    let mut parts = Vec::new();
    let mut part = Vec::new();
    let mut size = ENVELOPE;
    for entry in beat.admins {
        let entry_size = serde_json::to_string(&entry).map_or(MAX_SIGNAL_BYTES, |e| e.len() + 1);
        if !part.is_empty() && size + entry_size > MAX_SIGNAL_BYTES {
            parts.push(std::mem::take(&mut part));
            size = ENVELOPE;
        }
        size += entry_size;
        part.push(entry);
    }
    if !part.is_empty() {
        parts.push(part);
    }
    parts
        .into_iter()
        .map(|admins: Vec<BeatEntry>| PresenceBeat {
            node: beat.node,
            admins,
        })
        .collect()
}

/// Runs typing and presence for this process until the bus ends: hears
/// every process's signals, reports this one's presence, and keeps the
/// hub's presence current.
pub(crate) async fn run(team: Arc<Team>, outgoing: Outgoing, support: Support) {
    let mut heard = team.bus.subscribe();
    let _publisher = AbortOnDrop(tokio::spawn(publish(Arc::clone(&team.bus), outgoing)));
    let _usual = AbortOnDrop(tokio::spawn(refresh_usual_first_response(
        Arc::clone(&team),
        support,
    )));
    let tick = tick_every(&team.presence);
    // Expired a tick early, so a process that died takes its admins
    // offline within the grace period, not a tick after it; a report
    // still lives for more than two report intervals.
    let mut roster = TeamPresence::new(team.presence.grace.saturating_sub(tick));
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut beats = tokio::time::interval(team.presence.beat_every);
    beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_beat = None;
    loop {
        tokio::select! {
            signal = heard.next() => match signal {
                Some(Ephemeral::Typing(typing)) => {
                    if typing.role == Role::Admin {
                        team.active_here(&typing.who, Instant::now());
                    }
                    team.hub.typing(typing);
                    continue;
                }
                Some(Ephemeral::Presence(beat)) => roster.heard(beat, Instant::now()),
                Some(Ephemeral::Left(left)) => roster.left(&left),
                Some(Ephemeral::Active(activity)) => {
                    team.apply(&activity);
                    continue;
                }
                None => {
                    tracing::error!("typing and presence stopped: the ephemeral bus ended");
                    return;
                }
            },
            _ = ticks.tick() => {
                let now = Instant::now();
                roster.expire(now);
                lock(&team.throttle).forget_older_than(now);
                // A grace period that ended, an admin gone idle.
                team.report(&mut last_beat, false);
            }
            _ = beats.tick() => team.report(&mut last_beat, true),
            () = team.changed.notified() => team.report(&mut last_beat, false),
        }
        team.hub.set_presence(PresenceSnapshot {
            admins: roster.admins(),
            team_online: roster.team_online(),
            usual_first_response: *lock(&team.usual_first_response),
        });
    }
}

/// Sends what the team queued, in order, for as long as the team runs.
async fn publish(bus: Arc<dyn EphemeralBus>, Outgoing(mut queue): Outgoing) {
    while let Some(signal) = queue.recv().await {
        if let Err(error) = bus.publish(&signal).await {
            tracing::warn!(%error, "cannot publish a presence signal");
        }
    }
}

async fn refresh_usual_first_response(team: Arc<Team>, support: Support) {
    let mut every = tokio::time::interval(USUAL_RESPONSE_EVERY);
    loop {
        every.tick().await;
        match support.usual_first_response().await {
            Ok(usual) => *lock(&team.usual_first_response) = usual,
            Err(error) => tracing::warn!(%error, "cannot read the usual first response time"),
        }
        // Presence is set again at the next tick.
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use support_core::UserId;

    #[test]
    fn a_large_report_is_split_into_parts_that_fit_a_signal() {
        let node = NodeId::unique();
        let admins: Vec<BeatEntry> = (0..1000)
            .map(|n| BeatEntry {
                admin: UserId::parse(format!("admin-{n:0>100}")).expect("test value"),
                name: Some("N".repeat(64)),
                away: false,
                viewing: Some(ConversationId::new()),
            })
            .collect();
        let parts = split(PresenceBeat {
            node,
            admins: admins.clone(),
        });
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(Ephemeral::Presence(part.clone()).encode().len() <= MAX_SIGNAL_BYTES);
        }
        let rejoined: Vec<BeatEntry> = parts.into_iter().flat_map(|p| p.admins).collect();
        assert_eq!(rejoined, admins);
        assert!(
            split(PresenceBeat {
                node,
                admins: Vec::new()
            })
            .is_empty()
        );
    }
}
