//! The embeddable widget's build (`docs/embed.md`): `mpt-web` → wasm-bindgen → wasm-opt,
//! plus its page-side scripts, the phone UI's stylesheet and the vendored Voice SDK, into
//! `dist/widget/` — the directory the api-server serves under `/phone/v1/`
//! (`MPT_WIDGET_DIR`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::{cargo, Cmd};
use crate::extension::{copy_tree, gzip_len, BuildOptions, WASM_OPT_FEATURES};
use crate::{root, tools, Result};

/// Where the widget is built.
pub fn dist_dir() -> PathBuf {
    root().join("dist/widget")
}

/// Builds the widget and returns its directory (wasm-bindgen is the pinned one).
pub fn build(opts: &BuildOptions, wasm_bindgen: &Path) -> Result<PathBuf> {
    let profile = if opts.debug { "dev" } else { "wasm-release" };
    let profile_dir = if opts.debug { "debug" } else { "wasm-release" };
    cargo().args(["build", "--target", tools::WASM_TARGET, "--profile", profile, "-p", "mpt-web"]).run()?;
    let out = dist_dir();
    if out.exists() {
        fs::remove_dir_all(&out).map_err(|e| format!("clearing {}: {e}", out.display()))?;
    }
    fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let input = root().join("target").join(tools::WASM_TARGET).join(profile_dir).join("mpt_web.wasm");
    Cmd::new(wasm_bindgen)
        .args(["--target", "web", "--no-typescript"])
        .args(if opts.debug { vec![] } else { vec!["--remove-name-section", "--remove-producers-section"] })
        .arg("--out-dir")
        .arg(&out)
        .args(["--out-name", "mpt_web"])
        .arg(&input)
        .run()?;
    let wasm = out.join("mpt_web_bg.wasm");
    if !opts.debug {
        Cmd::new(tools::wasm_opt()).arg("-Oz").args(WASM_OPT_FEATURES).arg(&wasm).arg("-o").arg(&wasm).run()?;
    }
    copy_tree(&root().join("web/static"), &out)?;
    copy_tree(&root().join("voice"), &out)?;
    copy_tree(&root().join("ui/static"), &out)?;
    let sdk = root().join("node_modules/@twilio/voice-sdk/dist/twilio.min.js");
    fs::copy(&sdk, out.join("twilio.min.js")).map_err(|e| format!("vendoring {}: {e}", sdk.display()))?;
    let bytes = fs::read(&wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
    eprintln!("xtask: widget wasm {} B / {} B gzipped; built in {}", bytes.len(), gzip_len(&bytes)?, out.display());
    Ok(out)
}

/// The npm package `@mpt/phone-widget` from a built widget: `dist/npm/phone-widget/` (the
/// widget's files, the ESM entry, its TypeScript declarations and README) and its tarball
/// from `npm pack` in `dist/`. Returns the tarball's path.
pub fn npm_package(widget: &Path, version: &str) -> Result<PathBuf> {
    let out = root().join("dist/npm/phone-widget");
    if out.exists() {
        fs::remove_dir_all(&out).map_err(|e| format!("clearing {}: {e}", out.display()))?;
    }
    copy_tree(widget, &out)?;
    copy_tree(&root().join("web/npm"), &out)?;
    let files: Vec<String> = fs::read_dir(&out)
        .map_err(|e| format!("reading {}: {e}", out.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
        .filter(|n| n != "package.json")
        .collect();
    let package = serde_json::json!({
        "name": "@mpt/phone-widget",
        "version": version,
        "description": "MPT Phone as a web component (<mpt-phone>) and an iframe client (MPTPhone.mount).",
        "license": "UNLICENSED",
        "type": "module",
        "main": "./index.js",
        "module": "./index.js",
        "types": "./index.d.ts",
        "exports": { ".": { "types": "./index.d.ts", "import": "./index.js" }, "./widget.js": "./widget.js", "./*": "./*" },
        "files": files,
        "sideEffects": true,
    });
    let text = serde_json::to_string_pretty(&package).map_err(|e| e.to_string())?;
    fs::write(out.join("package.json"), text).map_err(|e| format!("writing package.json: {e}"))?;
    let dest = root().join("dist");
    let tarball = dest.join(format!("mpt-phone-widget-{version}.tgz"));
    Cmd::new("npm").args(["pack", "--silent", "--pack-destination"]).arg(&dest).current_dir(&out).run()?;
    if !tarball.exists() {
        return Err(format!("npm pack did not write {}", tarball.display()));
    }
    eprintln!("xtask: npm package {}", tarball.display());
    Ok(tarball)
}
