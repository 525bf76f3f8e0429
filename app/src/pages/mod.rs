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

/// A form field the server fills: a load shows the server's value only while the field holds
/// no unsaved edit, so one form saving (and reloading the page's data) never wipes what the
/// admin is typing in another, and a slow first load never wipes a quick first edit.
pub struct Draft<T: 'static> {
    value: RwSignal<T>,
    edited: RwSignal<bool>,
}

impl<T: 'static> Clone for Draft<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: 'static> Copy for Draft<T> {}

impl<T: Clone + PartialEq + Default + Send + Sync + 'static> Draft<T> {
    pub fn new() -> Self {
        Self { value: RwSignal::new(T::default()), edited: RwSignal::new(false) }
    }
    /// The server's value: shown unless the field holds an unsaved edit.
    pub fn load(self, v: T) {
        if !self.edited.get_untracked() {
            self.value.set(v);
        }
    }
    /// The admin's input.
    pub fn edit(self, v: T) {
        self.edited.set(true);
        self.value.set(v);
    }
    /// `sent` was saved: unless the field changed since, the next load shows the server's
    /// (normalised) form of it.
    pub fn saved(self, sent: &T) {
        if self.value.with_untracked(|v| v == sent) {
            self.edited.set(false);
        }
    }
    /// Empties the field (a secret after its save): nothing of it is left to keep.
    pub fn clear(self) {
        self.edited.set(false);
        self.value.set(T::default());
    }
    pub fn get(self) -> T {
        self.value.get()
    }
    pub fn get_untracked(self) -> T {
        self.value.get_untracked()
    }
}

impl<T: Clone + PartialEq + Default + Send + Sync + 'static> Default for Draft<T> {
    fn default() -> Self {
        Self::new()
    }
}

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
