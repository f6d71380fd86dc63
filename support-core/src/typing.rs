//! Typing indicators: who is writing in a conversation right now.
//!
//! A typing signal is never stored and never in the event log: it is sent
//! to the processes of the deployment over an [`crate::EphemeralBus`] and
//! shown until it expires, or until its author's message arrives. The
//! rules here decide who receives it and what they learn; the
//! [`TypingThrottle`] keeps a flood of signals from becoming a flood of
//! broadcasts.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, UserId};
use crate::principal::{Principal, Role};

/// Longest display name a typing signal or a presence entry carries, in
/// characters; longer names are cut (at a character boundary).
pub const MAX_SIGNAL_NAME_CHARS: usize = 64;

/// How long after someone's message their typing signals in that
/// conversation are dropped (see [`TypingThrottle::sent`]).
pub const QUIET_AFTER_SEND: Duration = Duration::from_millis(500);

/// Someone is typing in a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    /// Where.
    pub conversation_id: ConversationId,
    /// The conversation's user, who may receive admins' signals.
    pub conversation_owner: UserId,
    /// Who types.
    pub who: UserId,
    /// Their side.
    pub role: Role,
    /// Their display name, when the identity gave one.
    pub name: Option<String>,
    /// How long a receiver shows it without a newer signal.
    pub expires_in_ms: u32,
}

/// A typing signal as one receiver may see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypingView {
    /// Where.
    pub conversation_id: ConversationId,
    /// The typer's side.
    pub role: Role,
    /// The typer, for admins; `None` for a user told that the team types.
    pub user_id: Option<UserId>,
    /// The typer's name, when the receiver may know it.
    pub name: Option<String>,
    /// How long to show it without a newer signal.
    pub expires_in_ms: u32,
}

impl Typing {
    /// What `viewer` may learn of this signal, or `None` when it is not
    /// for them: admins see everyone else typing anywhere; a user sees the
    /// team typing in their own conversation, without who (unless
    /// `admin_names_to_users`, then with the admin's name, never the id).
    /// Nobody is told of their own typing, and no user of another user's.
    pub fn as_seen_by(&self, viewer: &Principal, admin_names_to_users: bool) -> Option<TypingView> {
        if viewer.id == self.who {
            return None;
        }
        if viewer.is_admin() {
            return Some(TypingView {
                conversation_id: self.conversation_id,
                role: self.role,
                user_id: Some(self.who.clone()),
                name: self.name.clone(),
                expires_in_ms: self.expires_in_ms,
            });
        }
        let theirs = viewer.id == self.conversation_owner;
        (theirs && self.role == Role::Admin).then(|| TypingView {
            conversation_id: self.conversation_id,
            role: Role::Admin,
            user_id: None,
            name: self.name.clone().filter(|_| admin_names_to_users),
            expires_in_ms: self.expires_in_ms,
        })
    }
}

/// `name` cut to [`MAX_SIGNAL_NAME_CHARS`], without control characters;
/// `None` when nothing is left.
pub fn signal_name(name: Option<&str>) -> Option<String> {
    let cleaned: String = name?
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_SIGNAL_NAME_CHARS)
        .collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Admits at most one typing signal per caller per conversation every
/// `every`; the others are accepted and dropped. Bounded: past `capacity`
/// entries, the ones older than `every` are forgotten, and when every entry
/// is recent the signal is dropped.
#[derive(Debug)]
pub struct TypingThrottle {
    every: Duration,
    capacity: usize,
    last: HashMap<(UserId, ConversationId), Instant>,
}

impl TypingThrottle {
    /// One signal per `every`, for at most `capacity` typers at once.
    pub fn new(every: Duration, capacity: usize) -> Self {
        Self {
            every,
            capacity,
            last: HashMap::new(),
        }
    }

    /// Whether a signal from `who` in `conversation` at `now` goes out.
    pub fn admit(&mut self, who: &UserId, conversation: ConversationId, now: Instant) -> bool {
        let key = (who.clone(), conversation);
        if let Some(last) = self.last.get(&key) {
            if now.saturating_duration_since(*last) < self.every {
                return false;
            }
        } else if self.last.len() >= self.capacity {
            self.forget_older_than(now);
            if self.last.len() >= self.capacity {
                return false;
            }
        }
        self.last.insert(key, now);
        true
    }

    /// Whether `who` was admitted in `conversation` within `every` of `now`:
    /// they passed the checks a signal needs there, that recently.
    pub fn admitted_recently(
        &self,
        who: &UserId,
        conversation: ConversationId,
        now: Instant,
    ) -> bool {
        self.last
            .get(&(who.clone(), conversation))
            .is_some_and(|last| now.saturating_duration_since(*last) < self.every)
    }

    /// `who` sent a message in `conversation` at `now`: signals in the
    /// next [`QUIET_AFTER_SEND`] are dropped (they were typed before the
    /// message, which ends the indicator, and would show it again), and the
    /// next one after that goes out at once.
    pub fn sent(&mut self, who: &UserId, conversation: ConversationId, now: Instant) {
        let quiet = QUIET_AFTER_SEND.min(self.every);
        match now.checked_sub(self.every - quiet) {
            Some(as_if) => {
                self.last.insert((who.clone(), conversation), as_if);
            }
            None => {
                self.last.remove(&(who.clone(), conversation));
            }
        }
    }

    /// Typers remembered.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }

    /// Forgets the signals older than `every`.
    pub fn forget_older_than(&mut self, now: Instant) {
        let every = self.every;
        self.last
            .retain(|_, last| now.saturating_duration_since(*last) < every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: &str) -> UserId {
        UserId::parse(raw).expect("test value")
    }

    fn typing(who: &str, role: Role, owner: &str) -> Typing {
        Typing {
            conversation_id: ConversationId::new(),
            conversation_owner: id(owner),
            who: id(who),
            role,
            name: Some("Ada".into()),
            expires_in_ms: 6000,
        }
    }

    #[test]
    fn a_user_sees_the_team_typing_in_their_conversation_without_who() {
        let signal = typing("ada", Role::Admin, "alice");
        let seen = signal
            .as_seen_by(&Principal::user(id("alice")), false)
            .expect("test value");
        assert_eq!(
            (seen.role, seen.user_id, seen.name),
            (Role::Admin, None, None)
        );
        let named = signal
            .as_seen_by(&Principal::user(id("alice")), true)
            .expect("test value");
        assert_eq!((named.user_id, named.name.as_deref()), (None, Some("Ada")));
    }

    #[test]
    fn no_user_sees_typing_in_another_users_conversation() {
        let by_admin = typing("ada", Role::Admin, "alice");
        assert_eq!(by_admin.as_seen_by(&Principal::user(id("bob")), true), None);
        let by_owner = typing("alice", Role::User, "alice");
        assert_eq!(by_owner.as_seen_by(&Principal::user(id("bob")), true), None);
    }

    #[test]
    fn admins_see_everyone_else_typing_and_nobody_sees_themselves() {
        let by_owner = typing("alice", Role::User, "alice");
        let seen = by_owner
            .as_seen_by(&Principal::admin(id("ada")), false)
            .expect("test value");
        assert_eq!(seen.user_id, Some(id("alice")));
        let by_admin = typing("ada", Role::Admin, "alice");
        assert!(
            by_admin
                .as_seen_by(&Principal::admin(id("grace")), false)
                .is_some()
        );
        assert_eq!(
            by_admin.as_seen_by(&Principal::admin(id("ada")), false),
            None
        );
        assert_eq!(
            by_owner.as_seen_by(&Principal::user(id("alice")), false),
            None
        );
    }

    #[test]
    fn the_throttle_admits_one_signal_per_interval_and_again_after_a_send() {
        let mut throttle = TypingThrottle::new(Duration::from_secs(2), 100);
        let (alice, c) = (id("alice"), ConversationId::new());
        let t0 = Instant::now();
        assert!(throttle.admit(&alice, c, t0));
        assert!(!throttle.admit(&alice, c, t0 + Duration::from_millis(1999)));
        assert!(throttle.admitted_recently(&alice, c, t0 + Duration::from_millis(1999)));
        assert!(throttle.admit(&alice, c, t0 + Duration::from_secs(2)));
        // After a send: quiet briefly (what was typed before it is stale),
        // then out at once.
        let sent = t0 + Duration::from_millis(2100);
        throttle.sent(&alice, c, sent);
        assert!(!throttle.admit(&alice, c, sent + Duration::from_millis(499)));
        assert!(throttle.admit(&alice, c, sent + QUIET_AFTER_SEND));
        assert!(throttle.admit(&alice, ConversationId::new(), t0));
    }

    #[test]
    fn the_throttle_stays_bounded() {
        let mut throttle = TypingThrottle::new(Duration::from_secs(2), 2);
        let t0 = Instant::now();
        assert!(throttle.admit(&id("a"), ConversationId::new(), t0));
        assert!(throttle.admit(&id("b"), ConversationId::new(), t0));
        assert!(!throttle.admit(&id("c"), ConversationId::new(), t0));
        assert!(throttle.admit(&id("c"), ConversationId::new(), t0 + Duration::from_secs(3)));
        assert_eq!(throttle.len(), 1);
    }

    #[test]
    fn names_are_cut_and_cleaned() {
        assert_eq!(signal_name(Some(" Ada\u{0}\n ")).as_deref(), Some("Ada"));
        assert_eq!(signal_name(Some("\u{7}")), None);
        let long = "é".repeat(100);
        assert_eq!(
            signal_name(Some(&long))
                .expect("test value")
                .chars()
                .count(),
            64
        );
    }
}
