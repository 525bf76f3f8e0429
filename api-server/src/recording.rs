//! The audio of a call's recording (voicemail), for `GET /api/calls/{id}/recording`: the
//! server fetches it with the tenant's Twilio credentials and hands the bytes to the
//! authorised agent, so a browser never sees a Twilio URL or credential.
//!
//! Sandbox tenants: the Twilio stand-in plays `<Record>` (its callbacks, its duration) but
//! has no media to keep, so the server renders the sandbox recording itself — a WAV of the
//! recorded length that starts with the beep a caller hears — and says so in a
//! `MPT-Sandbox-Recording` header. A real tenant's recording is always fetched from Twilio.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::tenant::Tenant;
use mpt_core::api::CallLog;
use mpt_core::PhoneErrorCode;
use mpt_twilio::rest::{RestClient, RestRequest};

/// Largest recording relayed (a two-minute voicemail is about 1 MB as MP3).
const MAX_MEDIA: usize = 16 * 1024 * 1024;
/// Sample rate of sandbox recordings.
const RATE: u32 = 8_000;
/// Longest sandbox recording rendered (`<Record maxLength>` of the voicemail TwiML).
const MAX_SANDBOX_SECS: u64 = 120;

/// A recording's bytes.
#[derive(Debug)]
pub struct Media {
    /// Its `Content-Type`.
    pub content_type: String,
    /// The audio.
    pub body: Vec<u8>,
    /// Rendered for a sandbox call (no Twilio media exists).
    pub sandbox: bool,
}

/// The audio of `call`'s recording (the caller's right to the call is checked before).
pub async fn media(state: &AppState, tenant: &Tenant, call: &CallLog) -> AppResult<Media> {
    let rsid = call.recording_sid.as_deref().ok_or(AppError::NotFound)?;
    if call.sandbox || tenant.sandbox {
        let secs = call.recording_duration_seconds.unwrap_or(1).clamp(1, MAX_SANDBOX_SECS);
        return Ok(Media { content_type: "audio/wav".into(), body: sandbox_wav(secs), sandbox: true });
    }
    // By SID, never the stored URL: the request goes only to the Twilio API base.
    let client = RestClient::new(&state.cfg.billing.twilio_api_base, &tenant.account_sid, &tenant.auth_token)
        .map_err(|e| AppError::internal(format!("recording client: {e}")))?;
    let (content_type, body) =
        client.fetch_media(&RestRequest::recording_media(&tenant.account_sid, rsid), MAX_MEDIA).await.map_err(|e| {
            tracing::warn!(tenant = %tenant.id, error = %e, "recording fetch failed");
            AppError::phone(PhoneErrorCode::Unavailable)
        })?;
    Ok(Media { content_type, body, sandbox: false })
}

/// A mono 16-bit PCM WAV of `secs` seconds: a 0.4 s 1 kHz beep, then silence.
pub fn sandbox_wav(secs: u64) -> Vec<u8> {
    let samples = RATE as usize * secs as usize;
    let data_len = (samples * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    let beep = (RATE as usize * 2) / 5;
    for i in 0..samples {
        let v = if i < beep { ((i as f64 * 2.0 * std::f64::consts::PI * 1000.0 / f64::from(RATE)).sin() * 8000.0) as i16 } else { 0 };
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_wav_has_the_recorded_length() {
        let w = sandbox_wav(3);
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(&w[8..16], b"WAVEfmt ");
        assert_eq!(w.len(), 44 + 3 * 8_000 * 2);
        assert_eq!(u32::from_le_bytes([w[40], w[41], w[42], w[43]]) as usize, 3 * 8_000 * 2);
    }
}
