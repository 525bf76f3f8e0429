//! Placing and controlling calls: sandbox calls through the server, real calls
//! through the Twilio Voice SDK in the offscreen document.

use std::collections::BTreeMap;

use mpt_core::api::{SandboxCallRequest, SandboxCallResponse, TwilioTokenResponse};
use mpt_core::msg::{
    valid_dtmf, BackgroundToOffscreen, CallPhase, EndReason, OffscreenToBackground,
};

use crate::app::{self, LiveCall, PortKind};
use crate::error::BgError;
use crate::{calls, chrome, session};

/// Path of the offscreen document (relative to the extension root).
pub const OFFSCREEN_PATH: &str = "offscreen.html";

/// True for `+` followed by 8 to 15 digits, the first not 0 (E.164 shape).
pub fn looks_e164(n: &str) -> bool {
    let Some(d) = n.strip_prefix('+') else { return false };
    (8..=15).contains(&d.len())
        && d.bytes().all(|b| b.is_ascii_digit())
        && !d.starts_with('0')
}

/// Places a call to `number` (E.164).
pub async fn dial(number: String, contact_id: Option<String>) -> Result<(), BgError> {
    if !looks_e164(&number) {
        return Err(BgError::Rejected(format!("{number} is not a valid phone number")));
    }
    let (signed_in, busy) = app::with(|a| {
        (
            a.session.is_some(),
            a.call.as_ref().is_some_and(|c| c.view.phase.is_live()),
        )
    });
    if !signed_in {
        return Err(BgError::SignedOut);
    }
    if busy {
        return Err(BgError::Rejected("You are already on a call".into()));
    }
    // A real account needs a Twilio token; the answer also tells us about sandbox mode.
    let mut sandbox = app::with(|a| a.sandbox);
    let mut token = None;
    if !sandbox {
        let t: TwilioTokenResponse = session::authed::<(), _>("POST", "/api/twilio/token", None).await?;
        if t.sandbox {
            sandbox = true;
            app::with(|a| a.sandbox = true);
        } else {
            token = Some(t);
        }
    }
    let call_id = chrome::random_uuid();
    let live = LiveCall {
        view: calls::new_call(call_id.clone(), number.clone(), contact_id.clone()),
        started_at_ms: chrome::now_ms(),
        call_sid: None,
        via_sdk: !sandbox,
        recorded: false,
    };
    app::set_call(Some(live)).await;
    if let Some(t) = token {
        let fresh = app::with(|a| a.offscreen_ready && a.twilio_token_expires_ms - chrome::now_ms() > 60_000.0);
        if !fresh {
            app::with(|a| a.twilio_token_expires_ms = t.expires_at as f64);
            to_offscreen(BackgroundToOffscreen::Init { token: t.token }).await?;
        }
        return to_offscreen(BackgroundToOffscreen::Connect { to: number, call_id }).await;
    }
    let mut params = BTreeMap::new();
    if let Some(c) = contact_id {
        params.insert("contact_id".to_owned(), c);
    }
    let body = SandboxCallRequest { to: number, client_call_id: Some(call_id.clone()), params };
    match session::authed::<_, SandboxCallResponse>("POST", "/api/sandbox/calls", Some(&body)).await {
        Ok(r) => {
            let c = app::with(|a| {
                let c = a.call.as_mut().filter(|c| c.view.call_id == call_id)?;
                c.call_sid = Some(r.call_sid);
                Some(c.clone())
            });
            if c.is_some() {
                app::set_call(c).await;
            }
            Ok(())
        }
        Err(e) => {
            end_current(EndReason::Failed).await;
            Err(e)
        }
    }
}

/// Ends the current call locally with `reason` (if it is still live).
pub async fn end_current(reason: EndReason) {
    let now = chrome::now_ms();
    let c = app::with(|a| {
        let c = a.call.as_mut()?;
        calls::advance(&mut c.view, CallPhase::Ended, Some(reason), now).then(|| c.clone())
    });
    if c.is_some() {
        app::set_call(c).await;
    }
}

fn live_call() -> Result<LiveCall, BgError> {
    app::with(|a| a.call.clone())
        .filter(|c| c.view.phase.is_live())
        .ok_or_else(|| BgError::Rejected("There is no call in progress".into()))
}

/// Hangs up the current call.
pub async fn hang_up() -> Result<(), BgError> {
    let c = live_call()?;
    if c.via_sdk {
        let _ = to_offscreen(BackgroundToOffscreen::HangUp).await;
    } else if let Some(sid) = &c.call_sid {
        // The server ends the sandbox call; its final status arrives as an event.
        let path = format!("/api/sandbox/calls/{sid}/hangup");
        let _: Result<serde_json::Value, _> = session::authed::<(), _>("POST", &path, None).await;
    }
    let reason = if c.view.phase == CallPhase::InCall { EndReason::Completed } else { EndReason::Canceled };
    end_current(reason).await;
    Ok(())
}

/// Mutes or unmutes the microphone.
pub async fn set_mute(muted: bool) -> Result<(), BgError> {
    let c = live_call()?;
    if c.via_sdk {
        to_offscreen(BackgroundToOffscreen::SetMute { muted }).await?;
    }
    let c = app::with(|a| {
        let c = a.call.as_mut()?;
        c.view.muted = muted;
        Some(c.clone())
    });
    app::set_call(c).await;
    Ok(())
}

/// Sends DTMF digits on the current call.
pub async fn send_digits(digits: String) -> Result<(), BgError> {
    if !valid_dtmf(&digits) {
        return Err(BgError::Rejected("Digits must be 0-9, * or #".into()));
    }
    let c = live_call()?;
    if c.view.phase != CallPhase::InCall {
        return Err(BgError::Rejected("The call is not connected yet".into()));
    }
    if c.via_sdk {
        to_offscreen(BackgroundToOffscreen::SendDigits { digits }).await?;
    }
    // Sandbox calls carry no audio: the digits have nowhere to go.
    Ok(())
}

/// Sends a message to the offscreen driver, creating the document if needed.
/// Messages wait in a queue until the driver's port says `Ready`.
pub async fn to_offscreen(msg: BackgroundToOffscreen) -> Result<(), BgError> {
    let port = app::with(|a| {
        if !a.offscreen_ready {
            return None;
        }
        a.ports.iter().find(|(_, k, _)| *k == PortKind::Offscreen).map(|(_, _, p)| p.clone())
    });
    if let Some(p) = port {
        if p.post_message(&app::message(&msg)?).is_ok() {
            return Ok(());
        }
    }
    app::with(|a| {
        a.offscreen_ready = false;
        a.offscreen_queue.push(msg);
    });
    chrome::ensure_offscreen(OFFSCREEN_PATH).await
}

/// Handles a message from the offscreen driver.
pub async fn on_offscreen(msg: OffscreenToBackground) {
    match msg {
        OffscreenToBackground::Ready => {
            let (port, queue) = app::with(|a| {
                a.offscreen_ready = true;
                let port = a.ports.iter().find(|(_, k, _)| *k == PortKind::Offscreen).map(|(_, _, p)| p.clone());
                (port, std::mem::take(&mut a.offscreen_queue))
            });
            if let Some(p) = port {
                for m in queue {
                    if let Ok(v) = app::message(&m) {
                        let _ = p.post_message(&v);
                    }
                }
            }
        }
        OffscreenToBackground::CallEvent { event, call_sid } => {
            let now = chrome::now_ms();
            let c = app::with(|a| {
                let c = a.call.as_mut().filter(|c| c.via_sdk)?;
                if c.call_sid.is_none() {
                    c.call_sid = call_sid;
                }
                calls::apply_sdk_event(&mut c.view, event, now).then(|| c.clone())
            });
            if c.is_some() {
                app::set_call(c).await;
            }
        }
        OffscreenToBackground::Muted { muted } => {
            let c = app::with(|a| {
                let c = a.call.as_mut().filter(|c| c.via_sdk && c.view.muted != muted)?;
                c.view.muted = muted;
                Some(c.clone())
            });
            if c.is_some() {
                app::set_call(c).await;
            }
        }
        OffscreenToBackground::Error { .. } => {
            let connecting = app::with(|a| {
                a.call.as_ref().is_some_and(|c| {
                    c.via_sdk && matches!(c.view.phase, CallPhase::Dialing | CallPhase::Ringing)
                })
            });
            if connecting {
                end_current(EndReason::Failed).await;
            }
        }
        OffscreenToBackground::TokenWillExpire => {
            if let Ok(t) = session::authed::<(), TwilioTokenResponse>("POST", "/api/twilio/token", None).await {
                app::with(|a| a.twilio_token_expires_ms = t.expires_at as f64);
                let _ = to_offscreen(BackgroundToOffscreen::UpdateToken { token: t.token }).await;
            }
        }
        OffscreenToBackground::DeviceState { .. } => {}
    }
}

/// The offscreen port closed: a call running there is gone.
pub async fn offscreen_gone() {
    app::with(|a| a.offscreen_ready = false);
    let live_sdk = app::with(|a| a.call.as_ref().is_some_and(|c| c.via_sdk && c.view.phase.is_live()));
    if live_sdk {
        end_current(EndReason::Failed).await;
    }
}

#[cfg(test)]
mod tests {
    use super::looks_e164;

    #[test]
    fn e164_shape() {
        assert!(looks_e164("+14155550100"));
        assert!(looks_e164("+442079460000"));
        assert!(!looks_e164("14155550100"));
        assert!(!looks_e164("+0123456789"));
        assert!(!looks_e164("+1415"));
        assert!(!looks_e164("+1415555010a"));
        assert!(!looks_e164("+1234567890123456"));
    }
}
