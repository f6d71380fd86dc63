//! Full-text search input. User text is reduced to plain terms here, so no
//! input can reach a backend's query syntax (FTS5 `MATCH`, `to_tsquery`).

use crate::error::InvalidInput;

/// Longest accepted search text, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// Most terms a query keeps.
pub const MAX_TERMS: usize = 16;

/// Lowercase words of letters and digits. A message matches when every
/// term is a prefix of one of its words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

impl SearchTerms {
    /// Splits `raw` into terms at every character that is not a letter or a
    /// digit. `Ok(None)` when nothing searchable remains (e.g. `"?!"`).
    pub fn parse(raw: &str) -> Result<Option<Self>, InvalidInput> {
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(InvalidInput::new(
                "q",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let mut terms: Vec<String> = Vec::new();
        for word in raw.split(|c: char| !c.is_alphanumeric()) {
            if word.is_empty() {
                continue;
            }
            let term = word.to_lowercase();
            if !terms.contains(&term) {
                terms.push(term);
            }
            if terms.len() == MAX_TERMS {
                break;
            }
        }
        Ok((!terms.is_empty()).then_some(Self(terms)))
    }

    /// The terms: non-empty, lowercase, letters and digits only.
    pub fn terms(&self) -> &[String] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(raw: &str) -> Vec<String> {
        SearchTerms::parse(raw)
            .expect("valid")
            .map(|t| t.terms().to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn query_syntax_is_reduced_to_plain_terms() {
        assert_eq!(terms("Refund please"), ["refund", "please"]);
        assert_eq!(
            terms("\"a\" OR b* NEAR(c) -d ^e:f"),
            ["a", "or", "b", "near", "c", "d", "e", "f"]
        );
        assert_eq!(terms("foo & !bar | baz:* <-> ''"), ["foo", "bar", "baz"]);
        assert_eq!(terms("Crème brûlée 42"), ["crème", "brûlée", "42"]);
        assert!(terms("?! *** ()").is_empty());
        assert!(terms("").is_empty());
    }

    #[test]
    fn long_queries_are_rejected_and_terms_capped() {
        assert!(SearchTerms::parse(&"a".repeat(MAX_QUERY_CHARS + 1)).is_err());
        let many: String = (0..40).map(|i| format!("w{i} ")).collect();
        assert_eq!(terms(&many).len(), MAX_TERMS);
    }
}
