//! The session behind a browser's call, carried to `/twilio/voice`.
//!
//! The voice webhook is called by Twilio (or the sandbox stand-in), not by the agent, so
//! it sees no bearer token: without this, a Twilio access token minted just before an
//! embed token, widget key or sign-in session was revoked would keep placing calls for
//! its whole hour. Every Twilio token carries the session it was minted in as an
//! `outgoing.params` entry (Twilio passes grant parameters to the Voice URL), and the
//! sandbox path adds the same parameter, so both dial paths arrive with it. The value is
//! MAC'd with a server key, so a client that sends a parameter of the same name cannot
//! name another session; the webhook checks the session is still live
//! ([`crate::sessions::Sessions::is_live`]) before dialling.

use crate::sessions::SessionRef;
use crate::state::AppState;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The parameter's name (on the Voice URL request).
pub const PARAM: &str = "MptSession";

fn mac(state: &AppState, agent_id: &str, stored: &str) -> Hmac<Sha256> {
    // The JWT key, domain-separated: these values are never JWTs.
    let mut m = Hmac::<Sha256>::new_from_slice(state.crypto.jwt_key()).expect("HMAC takes any key length");
    m.update(b"mpt:voice-session:v1\0");
    m.update(agent_id.as_bytes());
    m.update(b"\0");
    m.update(stored.as_bytes());
    m
}

/// The parameter value for an agent's session: `<stored session>.<hex MAC>`.
pub fn param(state: &AppState, agent_id: &str, session: &SessionRef) -> String {
    let stored = session.stored();
    let tag = mac(state, agent_id, &stored).finalize().into_bytes();
    format!("{stored}.{}", crate::crypto::hex(&tag))
}

/// The session named by a parameter value, if its MAC is right for this agent.
pub fn verify(state: &AppState, agent_id: &str, value: &str) -> Option<SessionRef> {
    let (stored, tag) = value.rsplit_once('.')?;
    if value.len() > 256 || tag.len() != 64 {
        return None;
    }
    let tag: Vec<u8> = (0..tag.len()).step_by(2).map(|i| u8::from_str_radix(tag.get(i..i + 2)?, 16).ok()).collect::<Option<_>>()?;
    mac(state, agent_id, stored).verify_slice(&tag).ok()?;
    Some(SessionRef::from_stored(stored))
}
