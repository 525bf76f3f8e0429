//! "Call <selection>": the one number in a piece of text the agent selected.
//!
//! The context menu hands the worker whatever the agent selected; this reads it with the
//! same detector the content script marks pages with, so a selection is callable exactly
//! when the number in it would have been marked.

use crate::phone::{find_numbers, Region, E164};

/// Why a selection cannot be called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectionError {
    /// No phone number in the text.
    NoNumber,
    /// More than one: the agent must select the one to call.
    SeveralNumbers(usize),
}

/// Longest selection shown back in a message, in characters.
const SHOWN_CHARS: usize = 40;

impl SelectionError {
    /// What the agent is told, quoting (the start of) the selection.
    pub fn message(&self, selection: &str) -> String {
        let trimmed: String = selection.trim().chars().take(SHOWN_CHARS).collect();
        let more = if selection.trim().chars().count() > SHOWN_CHARS { "…" } else { "" };
        match self {
            SelectionError::NoNumber => format!("“{trimmed}{more}” is not a phone number MPT Phone can call."),
            SelectionError::SeveralNumbers(n) => format!("The selection holds {n} phone numbers: select just the one to call."),
        }
    }
}

/// The single number in `selection`, read in `region` when it has no country code.
pub fn number_in_selection(selection: &str, region: Region) -> Result<E164, SelectionError> {
    let found = find_numbers(selection, region);
    match found.len() {
        0 => Err(SelectionError::NoNumber),
        1 => Ok(found.into_iter().next().map(|m| m.e164).ok_or(SelectionError::NoNumber)?),
        n => Err(SelectionError::SeveralNumbers(n)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn one_number() {
        assert_eq!(number_in_selection("(415) 555-0134", Region::US).unwrap().as_str(), "+14155550134");
        assert_eq!(number_in_selection("  call Ada at (415) 555-0134 today ", Region::US).unwrap().as_str(), "+14155550134");
        assert_eq!(number_in_selection("020 7946 0018", Region::parse("GB").unwrap()).unwrap().as_str(), "+442079460018");
        assert_eq!(number_in_selection("+44 20 7946 0018", Region::US).unwrap().as_str(), "+442079460018");
    }

    #[test]
    fn refusals() {
        assert_eq!(number_in_selection("Invoice 2024", Region::US), Err(SelectionError::NoNumber));
        assert_eq!(number_in_selection("", Region::US), Err(SelectionError::NoNumber));
        assert_eq!(number_in_selection("(415) 555-0134 or (415) 555-0199", Region::US), Err(SelectionError::SeveralNumbers(2)));
        assert_eq!(SelectionError::NoNumber.message(" hello "), "“hello” is not a phone number MPT Phone can call.");
        assert!(SelectionError::NoNumber.message(&"x".repeat(100)).ends_with("…” is not a phone number MPT Phone can call."));
    }
}
