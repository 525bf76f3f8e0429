//! Opaque pagination cursors (`started_at:id`, base64url).

use crate::error::{AppError, AppResult};

/// Encodes a pagination cursor.
pub fn encode_cursor(started_at: i64, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{started_at}:{id}"))
}

/// Decodes a pagination cursor.
pub fn decode_cursor(c: &str) -> AppResult<(i64, String)> {
    use base64::Engine;
    let bad = || AppError::BadRequest("invalid cursor".into());
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?;
    let s = String::from_utf8(raw).map_err(|_| bad())?;
    let (t, id) = s.split_once(':').ok_or_else(bad)?;
    Ok((t.parse().map_err(|_| bad())?, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_roundtrip() {
        let c = encode_cursor(123, "call_x");
        assert_eq!(decode_cursor(&c).expect("decode"), (123, "call_x".to_string()));
        assert!(decode_cursor("!!").is_err());
    }
}
