//! The standalone web app's build (`app/`, crate `mpt-app`): wasm → wasm-bindgen →
//! wasm-opt, plus its loader script, its stylesheet and the phone UI's, into `dist/app/` —
//! the directory the api-server serves at `/` and under `/app/v1/` (`MPT_APP_DIR`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::{cargo, Cmd};
use crate::extension::{copy_tree, gzip_len, BuildOptions, WASM_OPT_FEATURES};
use crate::{root, tools, Result};

/// Where the app is built.
pub fn dist_dir() -> PathBuf {
    root().join("dist/app")
}

/// Builds the app and returns its directory (wasm-bindgen is the pinned one).
pub fn build(opts: &BuildOptions, wasm_bindgen: &Path) -> Result<PathBuf> {
    let profile = if opts.debug { "dev" } else { "wasm-release" };
    let profile_dir = if opts.debug { "debug" } else { "wasm-release" };
    cargo().args(["build", "--target", tools::WASM_TARGET, "--profile", profile, "-p", "mpt-app"]).run()?;
    let out = dist_dir();
    if out.exists() {
        fs::remove_dir_all(&out).map_err(|e| format!("clearing {}: {e}", out.display()))?;
    }
    fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let input = root().join("target").join(tools::WASM_TARGET).join(profile_dir).join("mpt_app.wasm");
    Cmd::new(wasm_bindgen)
        .args(["--target", "web", "--no-typescript"])
        .args(if opts.debug { vec![] } else { vec!["--remove-name-section", "--remove-producers-section"] })
        .arg("--out-dir")
        .arg(&out)
        .args(["--out-name", "mpt_app"])
        .arg(&input)
        .run()?;
    let wasm = out.join("mpt_app_bg.wasm");
    if !opts.debug {
        Cmd::new(tools::wasm_opt()).arg("-Oz").args(WASM_OPT_FEATURES).arg(&wasm).arg("-o").arg(&wasm).run()?;
    }
    copy_tree(&root().join("app/static"), &out)?;
    copy_tree(&root().join("ui/static"), &out)?;
    let bytes = fs::read(&wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
    eprintln!("xtask: app wasm {} B / {} B gzipped; built in {}", bytes.len(), gzip_len(&bytes)?, out.display());
    Ok(out)
}
