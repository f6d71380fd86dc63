//! Who is calling: the host resolves a request to a [`Principal`].

use serde::{Deserialize, Serialize};

use crate::ids::UserId;

/// The two sides of a support conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A person who asks for help; sees only their own conversations.
    User,
    /// A member of the support team; sees every conversation.
    Admin,
}

/// The caller, as the host application identified it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The host's id for this person.
    pub id: UserId,
    /// User or admin.
    pub role: Role,
}

impl Principal {
    /// A principal with the user role.
    pub fn user(id: UserId) -> Self {
        Self {
            id,
            role: Role::User,
        }
    }

    /// A principal with the admin role.
    pub fn admin(id: UserId) -> Self {
        Self {
            id,
            role: Role::Admin,
        }
    }

    /// Whether this principal is on the support team.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
