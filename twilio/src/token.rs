//! Voice access tokens: the JWT the browser's Voice SDK authenticates with.
//!
//! Matches the official helper libraries: header
//! `{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}`; claims `jti`
//! (`"<API key SID>-<iat>"`), `grants` (`identity`, `voice`), `iat`, `exp`,
//! `iss` (API key SID), `sub` (account SID), in the order the npm `twilio`
//! library emits them. Like the libraries, no `nbf` is emitted by default
//! (it would only add a way for a browser with a skewed clock to fail).

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::TwilioError;

/// Default token lifetime (seconds), as in Twilio's libraries.
pub const DEFAULT_TTL_SECS: u64 = 3600;
/// Twilio rejects access tokens valid for longer than 24 h.
pub const MAX_TTL_SECS: u64 = 86_400;

/// The `voice` grant of an access token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoiceGrant {
    /// The TwiML App SID (`AP…`) whose Voice URL handles the browser's outgoing calls.
    /// `None`: the token cannot place calls (no `outgoing` grant is emitted).
    pub outgoing_application_sid: Option<String>,
    /// Extra parameters Twilio passes to the Voice URL on outgoing calls
    /// (`outgoing.params`; omitted when empty).
    pub outgoing_params: BTreeMap<String, String>,
    /// Whether the identity may receive incoming calls (`incoming.allow`).
    pub incoming_allow: bool,
}

/// Everything needed to mint a Voice access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The account SID (`AC…`), the `sub` claim.
    pub account_sid: String,
    /// The API key SID (`SK…`), the `iss` claim and the `jti` prefix.
    pub api_key_sid: String,
    /// The API key's secret: the HMAC-SHA256 key.
    pub api_key_secret: String,
    /// The client identity the browser registers as (`<Client>` dials it).
    pub identity: String,
    /// Lifetime in seconds (default 3600, at most 86400).
    pub ttl_secs: u64,
    /// The voice grant.
    pub voice: VoiceGrant,
}

/// The JWT header Twilio expects.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Header {
    /// Always `HS256` here.
    pub alg: String,
    /// `JWT`.
    pub typ: String,
    /// `twilio-fpa;v=1`.
    #[serde(default)]
    pub cty: Option<String>,
}

/// Decoded claims of a Voice access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// `"<API key SID>-<issued-at>"`.
    pub jti: String,
    /// The grants.
    pub grants: Grants,
    /// Not-before (Unix seconds), only if the issuer set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued-at (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Expiry (Unix seconds).
    pub exp: u64,
    /// The API key SID.
    pub iss: String,
    /// The account SID.
    pub sub: String,
}

/// The `grants` claim.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grants {
    /// The client identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The voice grant, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<VoiceClaims>,
}

/// The `grants.voice` claim as it appears on the wire.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct VoiceClaims {
    /// `{"allow": true}` when incoming calls are allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming: Option<IncomingClaims>,
    /// Outgoing application and parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing: Option<OutgoingClaims>,
}

/// `grants.voice.incoming`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IncomingClaims {
    /// Whether incoming calls are allowed.
    pub allow: bool,
}

/// `grants.voice.outgoing`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutgoingClaims {
    /// The TwiML App SID.
    pub application_sid: String,
    /// Parameters passed to the Voice URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<BTreeMap<String, String>>,
}

impl VoiceGrant {
    /// The wire form, exactly as the official libraries build it: `incoming` only when
    /// allowed; `outgoing` only with an application SID; `params` only when non-empty.
    pub fn to_claims(&self) -> VoiceClaims {
        VoiceClaims {
            incoming: self.incoming_allow.then_some(IncomingClaims { allow: true }),
            outgoing: self.outgoing_application_sid.as_ref().filter(|s| !s.is_empty()).map(|sid| OutgoingClaims {
                application_sid: sid.clone(),
                params: (!self.outgoing_params.is_empty()).then(|| self.outgoing_params.clone()),
            }),
        }
    }
}

impl AccessToken {
    /// A token with the default TTL (3600 s).
    pub fn new(
        account_sid: impl Into<String>,
        api_key_sid: impl Into<String>,
        api_key_secret: impl Into<String>,
        identity: impl Into<String>,
        voice: VoiceGrant,
    ) -> Self {
        Self {
            account_sid: account_sid.into(),
            api_key_sid: api_key_sid.into(),
            api_key_secret: api_key_secret.into(),
            identity: identity.into(),
            ttl_secs: DEFAULT_TTL_SECS,
            voice,
        }
    }

    /// The claims this token carries when minted at `now_unix`.
    pub fn claims(&self, now_unix: u64) -> Result<Claims, TwilioError> {
        if self.ttl_secs == 0 || self.ttl_secs > MAX_TTL_SECS {
            return Err(TwilioError::InvalidTtl(self.ttl_secs));
        }
        for (field, value) in [
            ("account_sid", &self.account_sid),
            ("api_key_sid", &self.api_key_sid),
            ("api_key_secret", &self.api_key_secret),
            ("identity", &self.identity),
        ] {
            if value.is_empty() {
                return Err(TwilioError::InvalidInput { field, reason: "must not be empty".into() });
            }
        }
        let exp =
            now_unix.checked_add(self.ttl_secs).ok_or(TwilioError::InvalidInput { field: "now_unix", reason: "time overflows".into() })?;
        Ok(Claims {
            jti: format!("{}-{}", self.api_key_sid, now_unix),
            grants: Grants { identity: Some(self.identity.clone()), voice: Some(self.voice.to_claims()) },
            nbf: None,
            iat: Some(now_unix),
            exp,
            iss: self.api_key_sid.clone(),
            sub: self.account_sid.clone(),
        })
    }

    /// Mints the signed JWT at time `now_unix` (Unix seconds).
    ///
    /// Errors: TTL of 0 or above 86400 s; an empty SID, secret or identity.
    pub fn to_jwt(&self, now_unix: u64) -> Result<String, TwilioError> {
        let claims = self.claims(now_unix)?;
        let header = Header { alg: "HS256".into(), typ: "JWT".into(), cty: Some("twilio-fpa;v=1".into()) };
        encode(&header, &claims, &self.api_key_secret)
    }
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, TwilioError> {
    serde_json::to_vec(v).map_err(|e| TwilioError::MalformedToken(e.to_string()))
}

fn hmac_sha256(secret: &str) -> Result<Hmac<Sha256>, TwilioError> {
    <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|e| TwilioError::InvalidInput { field: "api_key_secret", reason: e.to_string() })
}

/// Signs any header + claims with HS256 (used by [`AccessToken::to_jwt`], and by tests
/// to build deliberately odd tokens).
pub fn encode(header: &Header, claims: &Claims, secret: &str) -> Result<String, TwilioError> {
    let mut out = URL_SAFE_NO_PAD.encode(json(header)?);
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(json(claims)?));
    let mut mac = hmac_sha256(secret)?;
    mac.update(out.as_bytes());
    let sig = mac.finalize().into_bytes();
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(sig));
    Ok(out)
}

/// Verifies an HS256 access token with `api_key_secret` (signature compared in
/// constant time) and checks `exp` (and `nbf` when present) against `now_unix`.
/// Returns its claims.
pub fn decode_verify(jwt: &str, api_key_secret: &str, now_unix: u64) -> Result<Claims, TwilioError> {
    let mut parts = jwt.trim().split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TwilioError::MalformedToken("expected three dot-separated parts".into()));
    };
    let header_bytes = URL_SAFE_NO_PAD.decode(h).map_err(|e| TwilioError::MalformedToken(format!("header is not base64url: {e}")))?;
    let header: Header =
        serde_json::from_slice(&header_bytes).map_err(|e| TwilioError::MalformedToken(format!("header is not valid JSON: {e}")))?;
    if header.alg != "HS256" {
        return Err(TwilioError::MalformedToken(format!("unsupported alg {:?}", header.alg)));
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|e| TwilioError::MalformedToken(format!("signature is not base64url: {e}")))?;
    let mut mac = hmac_sha256(api_key_secret)?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&sig).map_err(|_| TwilioError::BadSignature)?;
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|e| TwilioError::MalformedToken(format!("payload is not base64url: {e}")))?;
    let claims: Claims =
        serde_json::from_slice(&payload).map_err(|e| TwilioError::MalformedToken(format!("payload is not valid claims JSON: {e}")))?;
    if now_unix >= claims.exp {
        return Err(TwilioError::TokenExpired { exp: claims.exp, now: now_unix });
    }
    if let Some(nbf) = claims.nbf {
        if now_unix < nbf {
            return Err(TwilioError::TokenNotYetValid { nbf, now: now_unix });
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AccessToken {
        let mut params = BTreeMap::new();
        params.insert("agent".to_string(), "42".to_string());
        AccessToken::new(
            "AC00000000000000000000000000000001",
            "SK00000000000000000000000000000002",
            "s3cret",
            "alice",
            VoiceGrant {
                outgoing_application_sid: Some("AP00000000000000000000000000000003".into()),
                outgoing_params: params,
                incoming_allow: true,
            },
        )
    }

    #[test]
    fn round_trip_and_claims_shape() {
        let jwt = sample().to_jwt(1_700_000_000).expect("mint");
        let claims = decode_verify(&jwt, "s3cret", 1_700_000_100).expect("verify");
        assert_eq!(claims.jti, "SK00000000000000000000000000000002-1700000000");
        assert_eq!(claims.exp, 1_700_003_600);
        assert_eq!(claims.grants.identity.as_deref(), Some("alice"));
        let payload = jwt.split('.').nth(1).expect("payload");
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("utf8");
        assert_eq!(
            text,
            r#"{"jti":"SK00000000000000000000000000000002-1700000000","grants":{"identity":"alice","voice":{"incoming":{"allow":true},"outgoing":{"application_sid":"AP00000000000000000000000000000003","params":{"agent":"42"}}}},"iat":1700000000,"exp":1700003600,"iss":"SK00000000000000000000000000000002","sub":"AC00000000000000000000000000000001"}"#
        );
        let header = jwt.split('.').next().expect("header");
        assert_eq!(URL_SAFE_NO_PAD.decode(header).expect("b64"), br#"{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}"#);
    }

    #[test]
    fn rejects_bad_secret_expiry_tamper_and_ttl() {
        let jwt = sample().to_jwt(1_700_000_000).expect("mint");
        assert!(matches!(decode_verify(&jwt, "other", 1_700_000_001), Err(TwilioError::BadSignature)));
        assert!(matches!(decode_verify(&jwt, "s3cret", 1_700_003_600), Err(TwilioError::TokenExpired { .. })));
        let mut tampered = jwt.clone();
        tampered.insert(jwt.find('.').expect("dot") + 3, 'A');
        assert!(decode_verify(&tampered, "s3cret", 1_700_000_001).is_err());
        assert!(decode_verify("a.b", "s3cret", 0).is_err());
        let mut t = sample();
        t.ttl_secs = 86_401;
        assert!(matches!(t.to_jwt(0), Err(TwilioError::InvalidTtl(86_401))));
        t.ttl_secs = 86_400;
        assert!(t.to_jwt(0).is_ok());
        t.identity.clear();
        assert!(t.to_jwt(0).is_err());
    }

    #[test]
    fn nbf_in_future_is_rejected() {
        let mut claims = sample().claims(100).expect("claims");
        claims.nbf = Some(200);
        let header = Header { alg: "HS256".into(), typ: "JWT".into(), cty: None };
        let jwt = encode(&header, &claims, "k").expect("encode");
        assert!(matches!(decode_verify(&jwt, "k", 150), Err(TwilioError::TokenNotYetValid { .. })));
        assert!(decode_verify(&jwt, "k", 250).is_ok());
    }

    #[test]
    fn minimal_grant_has_no_outgoing_or_incoming() {
        let c = VoiceGrant::default().to_claims();
        assert_eq!(serde_json::to_string(&c).expect("json"), "{}");
    }
}
