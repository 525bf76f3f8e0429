//! Number detection for content scripts whose page CSP blocks WebAssembly: the page
//! sends its text batches here and the same detector (`mpt_core::phone`) runs in the
//! service worker's wasm.

use mpt_core::msg::TextMatch;
use mpt_core::phone::{find_numbers_batch, Region};

/// Most texts accepted in one request (the content script sends smaller batches).
pub const MAX_TEXTS: usize = 5_000;

/// Finds phone numbers in `texts`, offsets in UTF-16 code units; texts beyond
/// [`MAX_TEXTS`] are ignored.
pub fn find(texts: &[String], region: Region) -> Vec<TextMatch> {
    let texts = &texts[..texts.len().min(MAX_TEXTS)];
    find_numbers_batch(texts, region)
        .into_iter()
        .enumerate()
        .flat_map(|(i, ms)| {
            ms.into_iter().map(move |m| TextMatch { text: i as u32, start: m.start_utf16, end: m.end_utf16, e164: m.e164.clone() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_with_utf16_offsets_per_text() {
        let texts = vec!["no number".to_owned(), "☎ Call (415) 555-0134 today".to_owned()];
        let m = find(&texts, Region::US);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].text, 1);
        assert_eq!(m[0].e164.as_str(), "+14155550134");
        // "☎ Call " is 7 UTF-16 units
        assert_eq!((m[0].start, m[0].end), (7, 21));
        // A bad region never gets here: `Region` is checked when the message is decoded.
    }
}
