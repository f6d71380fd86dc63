//! Input rules, decided once here so every backend and every endpoint
//! accepts and rejects exactly the same input.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::InvalidInput;

/// Limits that a host may tune.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentLimits {
    /// Most Unicode scalar values a message may have after trimming.
    pub max_chars: usize,
}

impl Default for ContentLimits {
    fn default() -> Self {
        Self { max_chars: 10_000 }
    }
}

/// Message text that passed validation: trimmed, 1 to `max_chars` Unicode
/// scalar values, and free of control characters other than newline and
/// tab. Stored and returned verbatim; rendering it safely
/// is the UI's job.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageContent(String);

impl MessageContent {
    /// Validates raw input against `limits`.
    pub fn parse(raw: &str, limits: &ContentLimits) -> Result<Self, InvalidInput> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidInput::new("content", "must not be empty"));
        }
        if let Some(bad) = trimmed.chars().find(|c| is_forbidden_control(*c)) {
            return Err(InvalidInput::new(
                "content",
                format!(
                    "must not contain control character U+{:04X}",
                    u32::from(bad)
                ),
            ));
        }
        let chars = trimmed.chars().count();
        if chars > limits.max_chars {
            return Err(InvalidInput::new(
                "content",
                format!(
                    "must be at most {} characters (got {chars})",
                    limits.max_chars
                ),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Wraps text read back from storage, which was validated on the way in.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for MessageContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Message text may hold personal data: keep it out of logs.
        write!(f, "MessageContent({} chars)", self.0.chars().count())
    }
}

fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\t')
}

/// The sender's idempotency key: 1 to 64 printable ASCII characters
/// (0x21..=0x7E, so no spaces). A repeated `(author, client_id)` returns the
/// original message instead of creating a second one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    /// Longest accepted client id.
    pub const MAX_LEN: usize = 64;

    /// Validates a client-chosen idempotency key.
    pub fn parse(raw: impl Into<String>) -> Result<Self, InvalidInput> {
        let raw = raw.into();
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(InvalidInput::new(
                "client_id",
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidInput::new(
                "client_id",
                "must be printable ASCII without spaces",
            ));
        }
        Ok(Self(raw))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = InvalidInput;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<ClientId> for String {
    fn from(id: ClientId) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(raw: &str) -> Result<String, InvalidInput> {
        MessageContent::parse(raw, &ContentLimits::default()).map(MessageContent::into_string)
    }

    #[test]
    fn content_is_trimmed_and_kept_verbatim() {
        assert_eq!(
            content("  hi <b>there</b>\n").as_deref(),
            Ok("hi <b>there</b>")
        );
        assert_eq!(
            content("line 1\n\tline 2").as_deref(),
            Ok("line 1\n\tline 2")
        );
    }

    #[test]
    fn content_rules_table() {
        let limit = ContentLimits::default().max_chars;
        let cases: Vec<(String, bool)> = vec![
            (String::new(), false),
            ("   \n\t ".into(), false),
            ("a".into(), true),
            ("a\u{0}b".into(), false),
            ("a\u{7}b".into(), false),
            ("a\u{1b}[31mb".into(), false),
            ("a\u{85}b".into(), false),
            ("carriage\rreturn".into(), false),
            ("windows\r\nline".into(), false),
            ("é".repeat(limit), true),
            ("😀".repeat(limit), true),
            ("a".repeat(limit + 1), false),
            (format!("  {}  ", "a".repeat(limit)), true),
        ];
        for (input, ok) in cases {
            assert_eq!(content(&input).is_ok(), ok, "input {input:?}");
        }
    }

    #[test]
    fn content_limit_is_configurable() {
        let limits = ContentLimits { max_chars: 3 };
        assert!(MessageContent::parse("abc", &limits).is_ok());
        assert!(MessageContent::parse("abcd", &limits).is_err());
    }

    #[test]
    fn client_id_rules_table() {
        let cases = [
            ("", false),
            ("a", true),
            ("client-123_ABC.~!", true),
            ("has space", false),
            ("tab\there", false),
            ("naïve", false),
            (&"x".repeat(64), true),
            (&"x".repeat(65), false),
        ];
        for (input, ok) in cases {
            assert_eq!(ClientId::parse(input).is_ok(), ok, "input {input:?}");
        }
    }
}
