//! The app's pages, one file each; every one reads and writes through `crate::api`.

pub mod admin;
pub mod call;
pub mod calls;
pub mod contacts;
pub mod home;
pub mod settings;
pub mod voicemail;

use leptos::prelude::*;

use crate::error::AppError;

/// A value loaded from the server: `None` while loading.
pub type Loaded<T> = RwSignal<Option<Result<T, AppError>>>;

/// Loads `fut` into `into` (a page's data), replacing what was there.
pub fn load<T: 'static + Send + Sync, F>(into: Loaded<T>, fut: F)
where
    F: std::future::Future<Output = Result<T, AppError>> + 'static,
{
    wasm_bindgen_futures::spawn_local(async move {
        let r = fut.await;
        into.set(Some(r));
    });
}

/// A page's error line (or nothing).
pub fn error_line(e: &AppError) -> impl IntoView {
    view! { <p class="error" role="alert">{e.to_string()}</p> }
}

/// Runs an action and reports its failure in `status` (or `done` on success).
pub fn act<F>(status: RwSignal<Option<String>>, done: &'static str, fut: F, then: impl FnOnce() + 'static)
where
    F: std::future::Future<Output = Result<(), AppError>> + 'static,
{
    wasm_bindgen_futures::spawn_local(async move {
        match fut.await {
            Ok(()) => {
                status.set(Some(done.to_string()));
                then();
            }
            Err(e) => status.set(Some(e.to_string())),
        }
    });
}

/// The live region where actions report.
pub fn status_line(status: RwSignal<Option<String>>) -> impl IntoView {
    view! { <p class="status" role="status" aria-live="polite" data-testid="status">{move || status.get()}</p> }
}
