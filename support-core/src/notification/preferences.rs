//! Per-user switches: for each kind and channel, on or off.

use serde::{Deserialize, Serialize};

use super::{Channel, NotificationKind};

/// One switch. Absent switches are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Preference {
    /// What about.
    pub kind: NotificationKind,
    /// Through which channel.
    pub channel: Channel,
    /// On or off.
    pub enabled: bool,
}

/// Every kind × channel switch, with defaults (on) where `stored` has none.
pub(crate) fn complete(stored: &[Preference]) -> Vec<Preference> {
    let mut all = Vec::new();
    for kind in NotificationKind::ALL {
        for channel in Channel::ALL {
            let enabled = stored
                .iter()
                .find(|p| p.kind == kind && p.channel == channel)
                .is_none_or(|p| p.enabled);
            all.push(Preference {
                kind,
                channel,
                enabled,
            });
        }
    }
    all
}

/// Whether `kind` on `channel` is on, given the stored switches.
pub(crate) fn enabled(stored: &[Preference], kind: NotificationKind, channel: Channel) -> bool {
    stored
        .iter()
        .find(|p| p.kind == kind && p.channel == channel)
        .is_none_or(|p| p.enabled)
}
