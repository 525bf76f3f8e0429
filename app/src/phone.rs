//! The phone in the app: `mpt-ui`'s `Phone` on `mpt-web`'s executor (the same engine and
//! host as the embeddable widget; nothing here decides anything about a call).
//!
//! [`AppHost`] forwards every command to the engine. Two it also acts on: the sign-in
//! form's `SignIn` signs the app's pages in with the same credentials (the password is
//! used for both requests at once and kept by neither), and `SignOut` ends both sessions.

use leptos::prelude::*;
use mpt_core::api::AgentInfo;
use mpt_core::engine::{DialContact, PhoneCommand, PhoneView};
use mpt_ui::PhoneHost;

use crate::api;
use crate::error::AppError;

/// The phone's view and the app's sign-in state.
#[derive(Clone, Copy)]
pub struct PhoneCtx {
    /// The engine's latest view.
    pub view: RwSignal<PhoneView>,
    /// The app's signed-in agent.
    pub session: RwSignal<Option<AgentInfo>>,
    /// The last sign-in failure of the app's own session.
    pub sign_in_error: RwSignal<Option<String>>,
}

/// The phone context.
pub fn ctx() -> PhoneCtx {
    expect_context::<PhoneCtx>()
}

/// Where `mpt-ui`'s commands go.
pub struct AppHost {
    /// The shared state.
    pub ctx: PhoneCtx,
}

impl PhoneHost for AppHost {
    fn send(&self, cmd: PhoneCommand) {
        match &cmd {
            PhoneCommand::SignIn { email, password, tenant } => {
                let (email, password, tenant) = (email.clone(), password.clone(), tenant.clone());
                let ctx = self.ctx;
                ctx.sign_in_error.set(None);
                wasm_bindgen_futures::spawn_local(async move {
                    // Signing in again (the phone lost its session but the pages had not):
                    // end the pages' old session rather than leave it behind.
                    api::logout().await;
                    match api::login(email, password, tenant).await {
                        Ok(agent) => ctx.session.set(Some(agent)),
                        Err(AppError::Server { message, .. }) => ctx.sign_in_error.set(Some(message)),
                        Err(e) => ctx.sign_in_error.set(Some(e.to_string())),
                    }
                });
            }
            PhoneCommand::SignOut => sign_out_app(self.ctx),
            _ => {}
        }
        // The UI shows the engine's refusals in its view.
        let _ = mpt_web::host::command(cmd);
    }
}

/// Ends the app's session (the engine's is ended by its own `SignOut`).
pub fn sign_out_app(ctx: PhoneCtx) {
    ctx.session.set(None);
    wasm_bindgen_futures::spawn_local(api::logout());
}

/// Signs out everywhere (the app's header button).
pub fn sign_out(ctx: PhoneCtx) {
    sign_out_app(ctx);
    let _ = mpt_web::host::command(PhoneCommand::SignOut);
}

/// Calls `number` from the phone (history's and voicemail's "Call back").
pub fn dial(number: &str, contact_id: Option<String>, contact_name: Option<String>) {
    let contact = (contact_id.is_some() || contact_name.is_some()).then_some(DialContact {
        id: contact_id,
        name: contact_name,
        company: None,
        crm: None,
    });
    let _ = mpt_web::host::command(PhoneCommand::Dial { number: number.to_string(), contact });
}
