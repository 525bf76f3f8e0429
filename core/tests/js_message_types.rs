//! Tidy test: every message `type` the extension's JavaScript writes or reads is a
//! variant of the `mpt_core::msg` enum for that direction, so a renamed variant or a
//! typo in JS fails here rather than as a message the worker silently refuses.

use mpt_core::msg::{BackgroundToContent, BackgroundToOffscreen, ContentToBackground, OffscreenToBackground, PageCommand};
use serde::de::DeserializeOwned;
use serde_json::json;

fn read(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The quoted names that follow each of `prefixes` in `src` (`send({ type: 'Dial'` → Dial).
fn names_after(src: &str, prefixes: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for p in prefixes {
        for (i, _) in src.match_indices(p) {
            let rest = &src[i + p.len()..];
            let end = rest.find('\'').unwrap_or(0);
            out.push(rest[..end].to_owned());
        }
    }
    out
}

/// True when `name` is a variant of `T` (its payload may still be missing).
fn is_variant<T: DeserializeOwned>(name: &str) -> bool {
    match serde_json::from_value::<T>(json!({ "type": name })) {
        Ok(_) => true,
        Err(e) => !e.to_string().contains("unknown variant"),
    }
}

fn check<T: DeserializeOwned>(file: &str, what: &str, names: &[String], min: usize) {
    assert!(names.len() >= min, "{file}: found only {names:?} ({what})");
    let bad: Vec<_> = names.iter().filter(|n| !is_variant::<T>(n)).collect();
    assert!(bad.is_empty(), "{file}: {what} types that are no variant: {bad:?}");
}

#[test]
fn content_script_messages_are_enum_variants() {
    // The content script is four classic scripts sharing the isolated world.
    let file = "content/static/{runtime,marks,page-bridge,overlay}.js";
    let src = ["content/static/runtime.js", "content/static/marks.js", "content/static/page-bridge.js", "content/static/overlay.js"]
        .map(read)
        .join("\n");
    let sent = names_after(&src, &["send({ type: '", "const msg = { type: '"]);
    check::<ContentToBackground>(file, "sent", &sent, 4);
    let read = names_after(&src, &["reply.type === '", "reply.type !== '", "msg.type === '", "msg.type !== '"]);
    check::<BackgroundToContent>(file, "received", &read, 6);
    let page = names_after(&src, &["page({ type: '"]);
    check::<PageCommand>(file, "page-API", &page, 6);
}

#[test]
fn offscreen_messages_are_enum_variants() {
    let file = "extension/static/offscreen.js";
    let src = read(file);
    let sent = names_after(&src, &["post({ type: '", "postMessage({ type: '"]);
    check::<OffscreenToBackground>(file, "sent", &sent, 2);
    let read = names_after(&src, &["case '"]);
    check::<BackgroundToOffscreen>(file, "received", &read, 2);
}

#[test]
fn a_typo_is_caught() {
    assert!(!is_variant::<PageCommand>("Hangup"));
    assert!(is_variant::<PageCommand>("HangUp"));
    assert!(!is_variant::<ContentToBackground>("HangUp"));
    assert!(is_variant::<ContentToBackground>("Dial"));
}
