//! Presence: which admins are online, away, or looking at a conversation.
//!
//! Each process keeps a [`NodePresence`] of the admins with a live
//! connection open to it, and tells the deployment with a
//! [`PresenceBeat`] every [`PresenceConfig::beat_every`] and whenever that
//! changes, over an [`crate::EphemeralBus`]. Every process folds the beats
//! it hears, its own included, into a [`TeamPresence`]: an admin is
//! online while some process reports them active, away while every report
//! says idle, and gone when no report is fresher than
//! [`PresenceConfig::grace`] (a process that died stops reporting), or at
//! once when their process says they left.
//!
//! Presence is about the team only: no user is ever tracked or shown.
//! Nothing here is stored.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{ConversationId, UserId};

/// Timings of presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresenceConfig {
    /// An admin with no activity for this long is away (default 5 min).
    pub away_after: Duration,
    /// An admin stays online this long after their last connection closes
    /// (a page reload is not "offline"), and a process's report counts for
    /// this long (default 15 s).
    pub grace: Duration,
    /// How often each process reports (default 5 s; keep it well under
    /// `grace`).
    pub beat_every: Duration,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        Self {
            away_after: Duration::from_secs(300),
            grace: Duration::from_secs(15),
            beat_every: Duration::from_secs(5),
        }
    }
}

/// One process of the deployment, for presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub Uuid);

impl NodeId {
    /// A new unique id, one per process.
    pub fn unique() -> Self {
        Self(Uuid::now_v7())
    }
}

/// What one process reports of one admin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeatEntry {
    /// The admin.
    pub admin: UserId,
    /// Their display name, if known.
    pub name: Option<String>,
    /// No activity for [`PresenceConfig::away_after`].
    pub away: bool,
    /// The conversation they last said they look at, if any.
    pub viewing: Option<ConversationId>,
}

/// One process's report of its admins (or part of it: a large report is
/// split, and each part refreshes the entries it names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceBeat {
    /// The reporting process.
    pub node: NodeId,
    /// Its admins.
    pub admins: Vec<BeatEntry>,
}

/// A process's admin closed their last connection and the grace period
/// passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceLeft {
    /// The reporting process.
    pub node: NodeId,
    /// The admin.
    pub admin: UserId,
}

/// An admin did something on some process (sent, or said what they look
/// at): every process holding a stream of theirs counts it as activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminActivity {
    /// The admin.
    pub admin: UserId,
    /// What they now look at, when they said (`None`: keep it).
    pub viewing: Option<Viewing>,
}

/// What an admin looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Viewing {
    /// No conversation.
    Nothing,
    /// This conversation.
    Conversation(ConversationId),
}

impl Viewing {
    /// The conversation, if any.
    pub fn conversation(self) -> Option<ConversationId> {
        match self {
            Self::Nothing => None,
            Self::Conversation(id) => Some(id),
        }
    }
}

/// An admin's state, as the team sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceStatus {
    /// Connected and active recently.
    Online,
    /// Connected, but idle.
    Away,
}

/// One admin in the team's presence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminPresence {
    /// The admin.
    pub user_id: UserId,
    /// Their display name, if known.
    pub name: Option<String>,
    /// Online or away.
    pub status: PresenceStatus,
    /// Conversations they look at (the last one they named on each
    /// process that holds a stream of theirs).
    pub viewing: Vec<ConversationId>,
}

#[derive(Debug)]
struct LocalAdmin {
    name: Option<String>,
    connections: usize,
    last_active: Instant,
    viewing: Option<ConversationId>,
    /// When the last connection closed.
    closed_at: Option<Instant>,
}

/// The admins connected to this process.
#[derive(Debug)]
pub struct NodePresence {
    node: NodeId,
    config: PresenceConfig,
    admins: HashMap<UserId, LocalAdmin>,
}

impl NodePresence {
    /// An empty presence for process `node`.
    pub fn new(node: NodeId, config: PresenceConfig) -> Self {
        Self {
            node,
            config,
            admins: HashMap::new(),
        }
    }

    /// Admins remembered (connected, or within their grace period).
    pub fn len(&self) -> usize {
        self.admins.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.admins.is_empty()
    }

    /// `admin` opened a live connection (which counts as activity).
    pub fn connected(&mut self, admin: &UserId, name: Option<String>, now: Instant) {
        let entry = self
            .admins
            .entry(admin.clone())
            .or_insert_with(|| LocalAdmin {
                name: None,
                connections: 0,
                last_active: now,
                viewing: None,
                closed_at: None,
            });
        entry.connections += 1;
        entry.closed_at = None;
        entry.last_active = now;
        if name.is_some() {
            entry.name = name;
        }
    }

    /// One of `admin`'s live connections closed. What they looked at is
    /// forgotten (it may have been that page's); their other pages say it
    /// again.
    pub fn disconnected(&mut self, admin: &UserId, now: Instant) {
        if let Some(entry) = self.admins.get_mut(admin) {
            entry.viewing = None;
            entry.connections = entry.connections.saturating_sub(1);
            if entry.connections == 0 {
                entry.closed_at = Some(now);
            }
        }
    }

    /// `admin` did something (sent, typed, looked at a conversation).
    /// Whether they were away until now. Ignored for an admin with no
    /// connection to this process.
    pub fn active(&mut self, admin: &UserId, now: Instant) -> bool {
        let away_after = self.config.away_after;
        self.admins.get_mut(admin).is_some_and(|entry| {
            let was_away = now.saturating_duration_since(entry.last_active) >= away_after;
            entry.last_active = now;
            was_away
        })
    }

    /// `admin` looks at `conversation` (or at none), which is activity.
    /// Whether that changed what this process reports.
    pub fn viewing(
        &mut self,
        admin: &UserId,
        conversation: Option<ConversationId>,
        now: Instant,
    ) -> bool {
        let was_away = self.active(admin, now);
        self.admins.get_mut(admin).is_some_and(|entry| {
            let changed = entry.viewing != conversation;
            entry.viewing = conversation;
            changed || was_away
        })
    }

    /// The report at `now`, and the admins whose grace period ended (they
    /// are forgotten here and reported as left).
    pub fn report(&mut self, now: Instant) -> (PresenceBeat, Vec<PresenceLeft>) {
        let grace = self.config.grace;
        let mut left = Vec::new();
        self.admins.retain(|admin, entry| {
            let gone = entry
                .closed_at
                .is_some_and(|closed| now.saturating_duration_since(closed) >= grace);
            if gone {
                left.push(PresenceLeft {
                    node: self.node,
                    admin: admin.clone(),
                });
            }
            !gone
        });
        let away_after = self.config.away_after;
        let mut admins: Vec<BeatEntry> = self
            .admins
            .iter()
            .map(|(admin, entry)| BeatEntry {
                admin: admin.clone(),
                name: entry.name.clone(),
                away: now.saturating_duration_since(entry.last_active) >= away_after,
                viewing: entry.viewing,
            })
            .collect();
        admins.sort_by(|a, b| a.admin.cmp(&b.admin));
        (
            PresenceBeat {
                node: self.node,
                admins,
            },
            left,
        )
    }
}

#[derive(Debug)]
struct Heard {
    entry: BeatEntry,
    at: Instant,
}

/// The whole team's presence, from the reports of every process.
#[derive(Debug)]
pub struct TeamPresence {
    grace: Duration,
    heard: HashMap<(NodeId, UserId), Heard>,
}

impl TeamPresence {
    /// Reports count for `grace` after they are heard.
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            heard: HashMap::new(),
        }
    }

    /// Entries remembered (one per admin per process).
    pub fn len(&self) -> usize {
        self.heard.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.heard.is_empty()
    }

    /// Folds in a report heard at `now`.
    pub fn heard(&mut self, beat: PresenceBeat, now: Instant) {
        for entry in beat.admins {
            self.heard
                .insert((beat.node, entry.admin.clone()), Heard { entry, at: now });
        }
    }

    /// An admin left a process.
    pub fn left(&mut self, left: &PresenceLeft) {
        self.heard.remove(&(left.node, left.admin.clone()));
    }

    /// Forgets what no process has confirmed within the grace period.
    pub fn expire(&mut self, now: Instant) {
        let grace = self.grace;
        self.heard
            .retain(|_, heard| now.saturating_duration_since(heard.at) < grace);
    }

    /// Every admin present, by name (then id): online when any process
    /// reports them active, away otherwise.
    pub fn admins(&self) -> Vec<AdminPresence> {
        let mut by_admin: HashMap<&UserId, AdminPresence> = HashMap::new();
        let mut viewing: HashMap<&UserId, BTreeSet<ConversationId>> = HashMap::new();
        for heard in self.heard.values() {
            let entry = &heard.entry;
            let status = if entry.away {
                PresenceStatus::Away
            } else {
                PresenceStatus::Online
            };
            let admin = by_admin
                .entry(&entry.admin)
                .or_insert_with(|| AdminPresence {
                    user_id: entry.admin.clone(),
                    name: None,
                    status,
                    viewing: Vec::new(),
                });
            admin.status = admin.status.min(status);
            if admin.name.is_none() {
                admin.name.clone_from(&entry.name);
            }
            if let Some(conversation) = entry.viewing {
                viewing
                    .entry(&entry.admin)
                    .or_default()
                    .insert(conversation);
            }
        }
        let mut admins: Vec<AdminPresence> = by_admin
            .into_iter()
            .map(|(id, mut admin)| {
                admin.viewing = viewing.remove(id).into_iter().flatten().collect();
                admin
            })
            .collect();
        admins.sort_by(|a, b| {
            (a.name.as_deref(), a.user_id.as_str()).cmp(&(b.name.as_deref(), b.user_id.as_str()))
        });
        admins
    }

    /// Whether any admin is online (not away).
    pub fn team_online(&self) -> bool {
        self.heard.values().any(|heard| !heard.entry.away)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: &str) -> UserId {
        UserId::parse(raw).expect("test value")
    }

    fn config() -> PresenceConfig {
        PresenceConfig {
            away_after: Duration::from_secs(60),
            grace: Duration::from_secs(10),
            beat_every: Duration::from_secs(3),
        }
    }

    fn team_after(node: &mut NodePresence, now: Instant) -> TeamPresence {
        let mut team = TeamPresence::new(config().grace);
        let (beat, _) = node.report(now);
        team.heard(beat, now);
        team
    }

    #[test]
    fn an_admin_is_online_while_connected_and_away_when_idle() {
        let t0 = Instant::now();
        let mut node = NodePresence::new(NodeId::unique(), config());
        node.connected(&id("ada"), Some("Ada".into()), t0);
        let team = team_after(&mut node, t0);
        assert!(team.team_online());
        let ada = &team.admins()[0];
        assert_eq!(
            (ada.status, ada.name.as_deref()),
            (PresenceStatus::Online, Some("Ada"))
        );

        let later = t0 + Duration::from_secs(61);
        let team = team_after(&mut node, later);
        assert_eq!(team.admins()[0].status, PresenceStatus::Away);
        assert!(!team.team_online());
        assert!(node.active(&id("ada"), later), "was away until then");
        assert_eq!(
            team_after(&mut node, later).admins()[0].status,
            PresenceStatus::Online
        );
    }

    #[test]
    fn an_admin_stays_for_the_grace_period_after_the_last_connection_closes() {
        let t0 = Instant::now();
        let mut node = NodePresence::new(NodeId::unique(), config());
        node.connected(&id("ada"), None, t0);
        node.connected(&id("ada"), None, t0);
        node.disconnected(&id("ada"), t0);
        node.disconnected(&id("ada"), t0 + Duration::from_secs(1));
        let (beat, left) = node.report(t0 + Duration::from_secs(10));
        assert_eq!(
            (beat.admins.len(), left.len()),
            (1, 0),
            "a reload is not offline"
        );
        let (beat, left) = node.report(t0 + Duration::from_secs(11));
        assert_eq!((beat.admins.len(), left.len()), (0, 1));
        assert!(node.is_empty());

        let mut team = TeamPresence::new(config().grace);
        node.connected(&id("ada"), None, t0);
        team.heard(node.report(t0).0, t0);
        team.left(&left[0]);
        assert!(team.admins().is_empty());
    }

    #[test]
    fn a_silent_process_admins_disappear_after_the_grace_period() {
        let t0 = Instant::now();
        let mut team = TeamPresence::new(config().grace);
        let mut a = NodePresence::new(NodeId::unique(), config());
        let mut b = NodePresence::new(NodeId::unique(), config());
        a.connected(&id("ada"), None, t0);
        b.connected(&id("ada"), None, t0);
        b.connected(&id("grace"), None, t0);
        team.heard(a.report(t0).0, t0);
        team.heard(b.report(t0).0, t0);
        assert_eq!(team.admins().len(), 2);
        // b dies; a keeps reporting.
        let later = t0 + Duration::from_secs(10);
        team.heard(a.report(later).0, later);
        team.expire(later);
        let admins = team.admins();
        assert_eq!(admins.len(), 1);
        assert_eq!(admins[0].user_id, id("ada"));
    }

    #[test]
    fn an_admin_is_online_if_any_process_says_so_and_views_are_merged() {
        let t0 = Instant::now();
        let (c1, c2) = (ConversationId::new(), ConversationId::new());
        let mut team = TeamPresence::new(config().grace);
        let mut a = NodePresence::new(NodeId::unique(), config());
        let mut b = NodePresence::new(NodeId::unique(), config());
        a.connected(&id("ada"), None, t0);
        let later = t0 + Duration::from_secs(61);
        b.connected(&id("ada"), None, later);
        assert!(a.viewing(&id("ada"), Some(c1), t0));
        assert!(!a.viewing(&id("ada"), Some(c1), t0));
        b.viewing(&id("ada"), Some(c2), later);
        team.heard(a.report(later + Duration::from_secs(1)).0, later);
        team.heard(b.report(later).0, later);
        let ada = &team.admins()[0];
        assert_eq!(ada.status, PresenceStatus::Online);
        let mut expected = vec![c1, c2];
        expected.sort();
        assert_eq!(ada.viewing, expected);
    }
}
