//! Twilio-style resource identifiers (`CA…`, `RE…`): a two-letter prefix and 32 hex digits.

use crate::TwilioError;

/// A new random SID with the given two-letter prefix (`"CA"` for calls,
/// `"RE"` for recordings), e.g. `CA0f3c…` (prefix + 32 lowercase hex digits).
pub fn new_sid(prefix: &str) -> Result<String, TwilioError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| TwilioError::Random(e.to_string()))?;
    let mut out = String::with_capacity(prefix.len() + 32);
    out.push_str(prefix);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    Ok(out)
}

/// Whether `sid` looks like a SID with `prefix`: the prefix then exactly 32 hex digits.
pub fn is_sid(sid: &str, prefix: &str) -> bool {
    sid.len() == prefix.len() + 32 && sid.starts_with(prefix) && sid[prefix.len()..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_sids_are_well_formed_and_distinct() {
        let a = new_sid("CA").expect("rng");
        let b = new_sid("CA").expect("rng");
        assert!(is_sid(&a, "CA"), "{a}");
        assert_ne!(a, b);
        assert!(!is_sid("CA123", "CA"));
        assert!(!is_sid(&a, "RE"));
    }
}
