//! Contact details come from the host, never from what a user typed.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::StorageError;
use crate::ids::UserId;
use crate::storage::Storage;

/// How to reach a person. `Debug` keeps the details out of logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// Display name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

impl Contact {
    /// Whether there is nothing to reach.
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.phone.is_none()
    }
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contact")
            .field("name", &self.name.as_ref().map(|_| "<redacted>"))
            .field("email", &self.email.as_ref().map(|_| "<redacted>"))
            .field("phone", &self.phone.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The host's directory of contact details. Held as `Arc<dyn Contacts>`.
#[async_trait]
pub trait Contacts: Send + Sync {
    /// How to reach `user`, if the host knows.
    async fn contact(&self, user: &UserId) -> Result<Option<Contact>, StorageError>;
}

/// Knows nobody.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoContacts;

#[async_trait]
impl Contacts for NoContacts {
    async fn contact(&self, _user: &UserId) -> Result<Option<Contact>, StorageError> {
        Ok(None)
    }
}

/// The details the host's identity provider last vouched for (a token's
/// `email` and `phone` claims), as recorded by
/// [`crate::Support::remember_contact`].
#[derive(Clone)]
pub struct StoredContacts(pub Arc<dyn Storage>);

#[async_trait]
impl Contacts for StoredContacts {
    async fn contact(&self, user: &UserId) -> Result<Option<Contact>, StorageError> {
        self.0.contact(user).await
    }
}
