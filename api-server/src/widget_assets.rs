//! The embeddable widget's built files (`widget.js`, its wasm and JS glue, the iframe
//! page's script), read once at start from [`crate::Config::widget_dir`] and served from
//! memory under the versioned path `/phone/v1/`.
//!
//! Why in memory and hashed at start: the files are immutable for the life of a release
//! (served with a year-long `immutable` cache), and the SRI hash of `widget.js` that
//! `/api/config` publishes must be the hash of exactly the bytes served.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha384};
use std::collections::HashMap;
use std::path::Path;

/// The versioned path the assets are served under.
pub const BASE_PATH: &str = "/phone/v1/";
/// The web component's entry script.
pub const ENTRY: &str = "widget.js";
/// Largest file read (the widget wasm is a few hundred KB).
const MAX_FILE: u64 = 8 * 1024 * 1024;

/// One served file.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Its bytes.
    pub body: axum::body::Bytes,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its Subresource Integrity hash (`sha384-…`).
    pub integrity: String,
}

/// The widget files by name.
#[derive(Debug, Default)]
pub struct WidgetAssets {
    files: HashMap<String, Asset>,
}

/// The Subresource Integrity value of `body` (`sha384-<base64>`).
pub fn integrity(body: &[u8]) -> String {
    format!("sha384-{}", B64.encode(Sha384::digest(body)))
}

fn content_type(name: &str) -> Option<&'static str> {
    match name.rsplit_once('.')?.1 {
        "js" | "mjs" => Some("text/javascript; charset=utf-8"),
        "wasm" => Some("application/wasm"),
        "css" => Some("text/css; charset=utf-8"),
        "map" | "json" => Some("application/json"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

impl WidgetAssets {
    /// Reads every servable file directly in `dir` (no subdirectories, no other types).
    /// A missing directory serves nothing (logged).
    pub fn load(dir: Option<&Path>) -> WidgetAssets {
        let Some(dir) = dir else { return WidgetAssets::default() };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "widget assets not found; /phone/v1/ answers 404");
                return WidgetAssets::default();
            }
        };
        let mut files = HashMap::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(ct) = content_type(&name) else { continue };
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() || meta.len() > MAX_FILE {
                continue;
            }
            match std::fs::read(entry.path()) {
                Ok(body) => {
                    let integrity = integrity(&body);
                    files.insert(name, Asset { body: body.into(), content_type: ct, integrity });
                }
                Err(e) => tracing::warn!(file = %name, error = %e, "widget asset unreadable"),
            }
        }
        WidgetAssets { files }
    }

    /// A file by name.
    pub fn get(&self, name: &str) -> Option<&Asset> {
        self.files.get(name)
    }

    /// The SRI hash of `widget.js`, when built.
    pub fn entry_integrity(&self) -> Option<String> {
        self.get(ENTRY).map(|a| a.integrity.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_is_sha384_base64() {
        // `printf 'alert(1)' | openssl dgst -sha384 -binary | base64`
        assert_eq!(integrity(b"alert(1)"), "sha384-HT2E9NfWiuQ/w1PRai+hTyqW16NIoCGA/m8VQDUopfAtcz6YQjtsMmQd5uRbVDpW");
    }
}
