//! Wire types of typing and presence.

use serde::{Deserialize, Serialize};
use support_core::{AdminPresence, PresenceStatus, TypingView};
use utoipa::ToSchema;
use uuid::Uuid;

use super::role_name;
use crate::live::PresenceSnapshot;

/// `data` of the `typing` event: someone types in a conversation. Show it
/// until `expires_in_ms` passes without a newer one from the same person
/// there, or until their message arrives (`message.created`; for a user,
/// any admin message ends "the team is typing").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TypingEventBody {
    /// Where.
    pub conversation_id: Uuid,
    /// `user` or `admin`: the typer's side.
    pub role: String,
    /// Who types; `null` for a user told that the team types.
    pub user_id: Option<String>,
    /// The typer's display name, when the receiver may know it.
    pub name: Option<String>,
    /// How long to show it without a newer signal.
    pub expires_in_ms: u32,
}

impl From<TypingView> for TypingEventBody {
    fn from(view: TypingView) -> Self {
        Self {
            conversation_id: view.conversation_id.as_uuid(),
            role: role_name(view.role).to_owned(),
            user_id: view.user_id.map(String::from),
            name: view.name,
            expires_in_ms: view.expires_in_ms,
        }
    }
}

/// The team's presence: `GET /presence`, and `data` of the `presence`
/// event (sent when a stream goes live and whenever this changes; a user
/// is told only of changes to what they may see).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PresenceBody {
    /// Whether an admin is online (connected and active recently).
    pub team_online: bool,
    /// The median time to a first answer over the last 30 days, in
    /// seconds; `null` when too few conversations were answered to say.
    pub usual_first_response_seconds: Option<u64>,
    /// Admins online or away, by name: for admins only (absent for users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admins: Option<Vec<AdminPresenceBody>>,
}

impl PresenceBody {
    /// What `admin` (or not) may learn of `snapshot`.
    pub(crate) fn of(snapshot: &PresenceSnapshot, for_admin: bool) -> Self {
        Self {
            team_online: snapshot.team_online,
            usual_first_response_seconds: snapshot.usual_first_response.map(|d| d.as_secs()),
            admins: for_admin.then(|| {
                snapshot
                    .admins
                    .iter()
                    .map(AdminPresenceBody::from)
                    .collect()
            }),
        }
    }
}

/// One admin's presence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminPresenceBody {
    /// The admin.
    pub user_id: String,
    /// Their display name, when the identity gave one.
    pub name: Option<String>,
    /// `online`, or `away` (connected but idle).
    pub status: String,
    /// Conversations they have open.
    pub viewing: Vec<Uuid>,
}

impl From<&AdminPresence> for AdminPresenceBody {
    fn from(admin: &AdminPresence) -> Self {
        Self {
            user_id: admin.user_id.to_string(),
            name: admin.name.clone(),
            status: match admin.status {
                PresenceStatus::Online => "online",
                PresenceStatus::Away => "away",
            }
            .to_owned(),
            viewing: admin.viewing.iter().map(|c| c.as_uuid()).collect(),
        }
    }
}

/// Body of `PUT /presence`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewingBody {
    /// The conversation the admin has open, or `null` for none.
    pub viewing: Option<Uuid>,
}
