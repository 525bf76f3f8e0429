//! A call the agent is asked to confirm: a number a page offered (its own `tel:` link,
//! the page API) on an origin the tenant does not list as its CRM. The phone shows it
//! with the contact and a Call button; nothing is dialled until the agent presses it
//! in one of our own surfaces (popup, panel), so a page cannot start a call by itself.

use serde::{Deserialize, Serialize};

use crate::error_code::PhoneErrorCode;
use crate::phone::normalize;

use super::command::DialContact;
use super::view::display_number;
use super::Engine;

/// The offered call as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The number in E.164.
    pub number: String,
    /// The number for reading (the engine's display form).
    pub number_display: String,
    /// The CRM contact the page named (context for the log, never a grant).
    pub contact: DialContact,
    /// Who offered it (the page's origin), shown so the agent knows where it came from.
    pub origin: String,
}

impl Engine {
    /// Offers `number` for the agent to confirm (replacing any earlier offer).
    pub(crate) fn propose(&mut self, number: &str, contact: DialContact, origin: String) -> Result<(), PhoneErrorCode> {
        if !self.session.signed_in() {
            return Err(PhoneErrorCode::NotSignedIn);
        }
        let e164 = normalize(number, self.default_region()).map_err(|_| PhoneErrorCode::InvalidNumber)?.e164;
        let number = e164.as_str().to_owned();
        let number_display = display_number(&number, self.default_region());
        self.proposal = Some(Proposal { number, number_display, contact, origin });
        self.touch_view();
        Ok(())
    }

    /// Drops the offer (the agent dismissed it, dialled, or signed out).
    pub(crate) fn drop_proposal(&mut self) {
        if self.proposal.take().is_some() {
            self.touch_view();
        }
    }

    /// The offer shown, if any.
    pub fn proposal(&self) -> Option<&Proposal> {
        self.proposal.as_ref()
    }
}
