//! Signals that are never stored: typing and presence, sent between the
//! processes of one deployment.
//!
//! Unlike domain events, these are not in the log, never replayed, and
//! lost when nobody listens: a receiver that misses one gets the next
//! (typing is repeated while someone types; presence is reported
//! periodically). [`EphemeralBus`] is the port; a storage that several
//! processes share offers one ([`crate::Storage::ephemeral_bus`]: on
//! PostgreSQL, `NOTIFY`); otherwise signals stay within the process.

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::presence::{AdminActivity, PresenceBeat, PresenceLeft};
use crate::storage::StorageResult;
use crate::typing::Typing;

/// The largest encoded signal every bus must carry, in bytes: producers
/// split larger reports (PostgreSQL's notifications stop at 8000 bytes).
pub const MAX_SIGNAL_BYTES: usize = 6000;

/// One signal between processes. Its encoding ([`Self::encode`]) is the
/// format on the wire between processes, which may run different versions
/// during a rolling upgrade: a signal a receiver cannot decode is dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ephemeral {
    /// Someone types.
    Typing(Typing),
    /// A process reports its admins.
    Presence(PresenceBeat),
    /// An admin left a process.
    Left(PresenceLeft),
    /// An admin did something somewhere.
    Active(AdminActivity),
}

impl Ephemeral {
    /// The signal as text (JSON).
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| unreachable!("plain data serializes"))
    }

    /// A signal from [`Self::encode`]'s text; `None` if it is not one this
    /// version knows.
    pub fn decode(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// Ephemeral signals heard (see [`EphemeralBus::subscribe`]).
pub type EphemeralSignals = BoxStream<'static, Ephemeral>;

/// Carries [`Ephemeral`] signals to every process of a deployment, the
/// sender's own included. At most once, in no guaranteed order across
/// senders; held as `Arc<dyn EphemeralBus>`.
#[async_trait]
pub trait EphemeralBus: Send + Sync + 'static {
    /// Sends `signal` to every subscriber of every process.
    async fn publish(&self, signal: &Ephemeral) -> StorageResult<()>;

    /// Every signal published from now on, by any process. The stream ends
    /// only with the bus.
    fn subscribe(&self) -> EphemeralSignals;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ConversationId, UserId};
    use crate::presence::{BeatEntry, NodeId};
    use crate::principal::Role;

    #[test]
    fn signals_survive_their_encoding() {
        let ada = UserId::parse("ada").expect("test value");
        let node = NodeId::unique();
        for signal in [
            Ephemeral::Typing(Typing {
                conversation_id: ConversationId::new(),
                conversation_owner: UserId::parse("alice").expect("test value"),
                who: ada.clone(),
                role: Role::Admin,
                name: Some("Ada \"<b>\"".into()),
                expires_in_ms: 6000,
            }),
            Ephemeral::Presence(PresenceBeat {
                node,
                admins: vec![BeatEntry {
                    admin: ada.clone(),
                    name: None,
                    away: true,
                    viewing: Some(ConversationId::new()),
                }],
            }),
            Ephemeral::Left(PresenceLeft {
                node,
                admin: ada.clone(),
            }),
            Ephemeral::Active(AdminActivity {
                admin: ada,
                viewing: Some(crate::presence::Viewing::Conversation(ConversationId::new())),
            }),
        ] {
            assert_eq!(Ephemeral::decode(&signal.encode()), Some(signal));
        }
    }

    #[test]
    fn what_this_version_does_not_know_is_dropped() {
        assert_eq!(
            Ephemeral::decode(r#"{"kind":"reaction","emoji":"x"}"#),
            None
        );
        assert_eq!(Ephemeral::decode("7"), None);
        let forged = r#"{"kind":"left","node":"00000000-0000-0000-0000-000000000000","admin":""}"#;
        assert_eq!(Ephemeral::decode(forged), None, "ids are validated");
    }
}
