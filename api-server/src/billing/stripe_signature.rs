//! Stripe's webhook signature (`Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`).
//!
//! Each `v1` is HMAC-SHA256 of `"<t>.<raw body>"` with the endpoint's secret (`whsec_…`,
//! used as-is). An event is genuine when any `v1` matches (Stripe sends several while a
//! secret is being rolled) and `t` is within [`TOLERANCE_SECS`] of now: an old capture
//! cannot be replayed. Comparisons are constant-time. Checked against the official
//! `stripe` library's `webhooks.generateTestHeaderString` in `tests/api/billing_reference.rs`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far `t` may be from now, either way (Stripe's libraries default to 300 s).
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header, or no `t` / `v1` in it.
    #[error("missing or malformed Stripe-Signature header")]
    Malformed,
    /// No `v1` matches the body with our secret.
    #[error("no signature matches the payload")]
    NoMatch,
    /// `t` is too far from now.
    #[error("signature timestamp outside the tolerance")]
    Stale,
}

/// The hex HMAC-SHA256 Stripe would send for `body` at time `t`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A complete header value for `body` (tests and the Stripe stand-in).
pub fn header(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", sign(secret, t, body))
}

/// Verifies `header` for `body` at `now` (Unix seconds); returns the signed timestamp.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> Result<i64, SignatureError> {
    let mut t: Option<i64> = None;
    let mut v1: Vec<&str> = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else { continue };
        match k {
            "t" => t = Some(v.parse().map_err(|_| SignatureError::Malformed)?),
            "v1" => v1.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if v1.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let expected = sign(secret, t, body);
    // Check every candidate (no early exit) so timing does not tell which one matched.
    let matched = v1.iter().fold(false, |acc, cand| acc | bool::from(expected.as_bytes().ct_eq(cand.as_bytes())));
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","object":"event"}"#;

    #[test]
    fn accepts_any_matching_v1_within_tolerance() {
        let good = sign("whsec_a", 1_700_000_000, BODY);
        let h = format!("t=1700000000,v1={},v1={good},v0=zz", "0".repeat(64));
        assert_eq!(verify("whsec_a", &h, BODY, 1_700_000_299), Ok(1_700_000_000));
        assert_eq!(verify("whsec_a", &h, BODY, 1_699_999_701), Ok(1_700_000_000));
    }

    #[test]
    fn refuses_tampering_wrong_secret_staleness_and_garbage() {
        let h = header("whsec_a", 1_700_000_000, BODY);
        assert_eq!(verify("whsec_a", &h, b"{\"id\":\"evt_2\"}", 1_700_000_000), Err(SignatureError::NoMatch));
        assert_eq!(verify("whsec_b", &h, BODY, 1_700_000_000), Err(SignatureError::NoMatch));
        assert_eq!(verify("whsec_a", &h, BODY, 1_700_000_301), Err(SignatureError::Stale));
        assert_eq!(verify("whsec_a", "t=1700000000", BODY, 1_700_000_000), Err(SignatureError::Malformed));
        assert_eq!(verify("whsec_a", "v1=abc", BODY, 1_700_000_000), Err(SignatureError::Malformed));
        assert_eq!(verify("whsec_a", "t=soon,v1=abc", BODY, 1_700_000_000), Err(SignatureError::Malformed));
        assert_eq!(verify("whsec_a", "", BODY, 1_700_000_000), Err(SignatureError::Malformed));
    }
}
