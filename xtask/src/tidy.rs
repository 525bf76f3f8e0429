//! Project-wide checks that run as ordinary tests (`cargo test -p xtask`).

use std::fs;

use crate::{extension, root, tools};

fn read(path: &str) -> String {
    fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

#[test]
fn wasm_bindgen_pin_matches_cli_version() {
    let toml = read("Cargo.toml");
    let pin = format!("wasm-bindgen = \"={}\"", tools::WASM_BINDGEN_VERSION);
    assert!(toml.contains(&pin), "root Cargo.toml must pin {pin} (xtask installs that CLI version)");
}

#[test]
fn readme_opens_with_run_and_test_commands() {
    let readme = read("README.md");
    let commands: Vec<&str> = readme.lines().map(str::trim).filter(|l| l.starts_with("cargo xtask ")).take(2).collect();
    assert_eq!(commands, ["cargo xtask run", "cargo xtask test"], "README must open with the run and test commands");
    let ci = read(".ci/run");
    assert!(ci.lines().any(|l| l.trim() == "cargo xtask test"), ".ci/run must call the README's test command");
}

#[test]
fn manifest_renders_with_version_server_and_wasm_csp() {
    let rendered = extension::render_manifest_text(&read("manifest.json"), "9.8.7", "https://phone.example.com").expect("manifest renders");
    let manifest: serde_json::Value = serde_json::from_str(&rendered).expect("rendered manifest is JSON");
    assert_eq!(manifest["manifest_version"], 3);
    assert_eq!(manifest["version"], "9.8.7");
    assert!(!rendered.contains("__MPT_SERVER_ORIGIN__"));
    let csp = manifest["content_security_policy"]["extension_pages"].as_str().unwrap_or_default();
    assert!(csp.contains("'wasm-unsafe-eval'"), "extension pages need 'wasm-unsafe-eval' or no wasm runs: {csp}");
    assert_eq!(manifest["background"]["type"], "module");
}

#[test]
fn no_unfinished_markers_in_sources() {
    let mut offenders = Vec::new();
    for dir in ["core", "twilio", "content", "background", "popup", "panel", "options", "web", "app", "api-server", "demo-crm", "xtask"] {
        let _ = extension::walk(&root().join(dir), &mut |p| {
            if p.extension().is_some_and(|e| e == "rs") && !p.ends_with("tidy.rs") {
                let text = fs::read_to_string(p).unwrap_or_default();
                if text.contains(concat!("todo", "!(")) || text.contains(concat!("unimplemented", "!(")) {
                    offenders.push(p.display().to_string());
                }
            }
        });
    }
    assert!(offenders.is_empty(), "unfinished code: {offenders:?}");
}

#[test]
fn crm_matches_from_the_build() {
    assert_eq!(extension::crm_matches(None).expect("default"), extension::DEFAULT_CRM_MATCHES);
    let list = extension::crm_matches(Some("https://crm.example.com/*, https://*.ams.example/*")).expect("valid");
    assert_eq!(list, ["https://crm.example.com/*", "https://*.ams.example/*"]);
    for bad in ["https://*/*", "<all_urls>", "https://crm.example.com/app/*", "ftp://x/*", "https://a*b.com/*"] {
        assert!(extension::crm_matches(Some(bad)).is_err(), "{bad}");
    }
    let rendered = extension::render_manifest_for(&read("manifest.json"), "1.0.0", "https://phone.example.com", &list).expect("renders");
    let manifest: serde_json::Value = serde_json::from_str(&rendered).expect("JSON");
    assert_eq!(manifest["content_scripts"][0]["matches"], serde_json::json!(list));
    assert_eq!(manifest["host_permissions"], serde_json::json!(["https://phone.example.com/*"]));
    // Reach (issue 12): what the options page, managed storage, the menu and the shortcut need.
    for p in ["scripting", "contextMenus", "notifications", "activeTab"] {
        assert!(manifest["permissions"].as_array().is_some_and(|a| a.iter().any(|x| x == p)), "permission {p}");
    }
    assert_eq!(manifest["options_ui"]["page"], "options/index.html");
    assert_eq!(manifest["storage"]["managed_schema"], "managed_schema.json");
    assert!(manifest["commands"]["open-dialer"]["suggested_key"]["default"].is_string());
}
