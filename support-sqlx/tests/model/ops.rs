//! The operations a random history is made of, and how to generate them.

use std::fmt::Debug;

use proptest::prelude::*;
use proptest::sample::Index;

use super::*;

/// Which conversation an operation aims at, resolved when it runs (the
/// conversations do not exist when the sequence is generated).
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// One of the actor's own conversations (any conversation for an admin).
    Own(Index),
    /// Any conversation: for a user, often a foreign one.
    Any(Index),
    /// A closed conversation the actor sees, where reopen rules bite.
    Closed(Index),
}

#[derive(Clone, Debug)]
pub(crate) enum Op {
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

pub(crate) fn user_actor() -> impl Strategy<Value = usize> {
    0..USERS
}

pub(crate) fn admin_actor() -> impl Strategy<Value = usize> {
    USERS..ACTORS
}

pub(crate) fn any_actor() -> impl Strategy<Value = usize> {
    0..ACTORS
}

/// A target, drawn with the given weights for own, any and closed.
pub(crate) fn target(own: u32, anything: u32, closed: u32) -> impl Strategy<Value = Target> {
    prop_oneof![
        own => any::<Index>().prop_map(Target::Own),
        anything => any::<Index>().prop_map(Target::Any),
        closed => any::<Index>().prop_map(Target::Closed),
    ]
}

pub(crate) fn text() -> impl Strategy<Value = String> {
    "[a-z]{1,6}( [a-z]{1,6})?"
}

pub(crate) fn client_id() -> impl Strategy<Value = Option<u8>> {
    proptest::option::weighted(0.6, 0..CLIENT_IDS)
}

pub(crate) fn send(actor: impl Strategy<Value = usize>) -> impl Strategy<Value = Op> {
    (actor, text(), client_id()).prop_map(|(actor, text, client_id)| Op::Send {
        actor,
        text,
        client_id,
    })
}

pub(crate) fn post(
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

pub(crate) fn close(
    actor: impl Strategy<Value = usize>,
    target: impl Strategy<Value = Target>,
) -> impl Strategy<Value = Op> {
    (actor, target).prop_map(|(actor, target)| Op::Close { actor, target })
}

pub(crate) fn reopen(
    actor: impl Strategy<Value = usize>,
    target: impl Strategy<Value = Target>,
) -> impl Strategy<Value = Op> {
    (actor, target).prop_map(|(actor, target)| Op::Reopen { actor, target })
}

pub(crate) fn mark_seen() -> impl Strategy<Value = Op> {
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
pub(crate) fn op() -> impl Strategy<Value = Op> {
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

pub(crate) fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), MIN_STEPS..=MAX_STEPS)
}
