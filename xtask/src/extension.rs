//! `cargo xtask build`: the wasm crates → wasm-bindgen → wasm-opt → a loadable
//! unpacked extension in `dist/extension/`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cmd::{cargo, Cmd};
use crate::{root, tools, workspace_version, Result};

/// The wasm crates, by folder; each becomes `dist/extension/<folder>/mpt_<folder>{.js,_bg.wasm}`.
pub const WASM_CRATES: [&str; 5] = ["content", "background", "popup", "panel", "options"];
/// The popup's wasm budget, gzipped (issue 9): it opens on every click of the toolbar icon.
pub const POPUP_BUDGET_GZ: usize = 200_000;
/// The content payload (content scripts + detector glue + wasm, gzip -9 per file) before
/// issue 13 reworked marking, measured on main at def5c99: the size it must not outgrow.
const CONTENT_PAYLOAD_BEFORE_GZ: usize = 67_803;
const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8787";
/// The build-time CRM origins (MPT-CRM, AMS-APP-CRM) when `MPT_CRM_MATCHES` is unset: the
/// loopback demo CRMs (match patterns ignore ports, so every demo port matches).
pub const DEFAULT_CRM_MATCHES: [&str; 2] = ["http://127.0.0.1/*", "http://localhost/*"];

/// wasm features rustc emits by default today; wasm-opt must be told it may keep them.
pub const WASM_OPT_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

pub struct BuildOptions {
    /// Debug wasm (fast to build, large, no wasm-opt).
    pub debug: bool,
}

impl BuildOptions {
    pub fn from_args(args: &[String]) -> Self {
        BuildOptions { debug: args.iter().any(|a| a == "--debug") }
    }
}

pub fn dist_dir() -> PathBuf {
    root().join("dist/extension")
}

/// Builds the extension and returns its directory.
pub fn build(opts: &BuildOptions) -> Result<PathBuf> {
    tools::ensure_wasm_target()?;
    let wasm_bindgen = tools::ensure_wasm_bindgen()?;
    tools::ensure_npm_packages()?;

    // The popup has a profile of its own (`wasm-popup`: its copy of mpt-core optimised for
    // size), so it is compiled apart from the other wasm crates.
    let profile_of = |krate: &str| match (opts.debug, krate) {
        (true, _) => ("dev", "debug"),
        (false, "popup") => ("wasm-popup", "wasm-popup"),
        (false, _) => ("wasm-release", "wasm-release"),
    };
    let mut build = cargo().args(["build", "--target", tools::WASM_TARGET, "--profile", profile_of("content").0]);
    for krate in WASM_CRATES.iter().filter(|k| opts.debug || **k != "popup") {
        build = build.args(["-p", &format!("mpt-{krate}")]);
    }
    build.run()?;
    if !opts.debug {
        cargo().args(["build", "--target", tools::WASM_TARGET, "--profile", "wasm-popup", "-p", "mpt-popup"]).run()?;
    }

    let out = dist_dir();
    if out.exists() {
        fs::remove_dir_all(&out).map_err(|e| format!("clearing {}: {e}", out.display()))?;
    }
    fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;

    for krate in WASM_CRATES {
        let dest = out.join(krate);
        let name = format!("mpt_{krate}");
        let input = root().join("target").join(tools::WASM_TARGET).join(profile_of(krate).1).join(format!("{name}.wasm"));
        // The content script's glue is a classic script listed in the manifest (loaded with the
        // content scripts, no module import from the page at start-up: that import alone took
        // 60–140 ms on the 10,000-row page); the other parts load theirs as ES modules.
        let target = if krate == "content" { "no-modules" } else { "web" };
        Cmd::new(&wasm_bindgen)
            .args(["--target", target, "--no-typescript"])
            .args(if opts.debug { vec![] } else { vec!["--remove-name-section", "--remove-producers-section"] })
            .arg("--out-dir")
            .arg(&dest)
            .args(["--out-name", &name])
            .arg(&input)
            .run()?;
        if krate == "content" {
            // `var`, not `let`: a content script injected twice into one world must not throw.
            let glue = dest.join(format!("{name}.js"));
            let js = fs::read_to_string(&glue).map_err(|e| format!("reading {}: {e}", glue.display()))?;
            // Injected twice (a site enabled while its tab is open gets the scripts again), the
            // glue keeps its first instance: a second one would drop the initialised module.
            write(&glue, js.replacen("let wasm_bindgen =", "var wasm_bindgen = globalThis.wasm_bindgen ||", 1).as_bytes())?;
        }
        if !opts.debug {
            let wasm = dest.join(format!("{name}_bg.wasm"));
            // The popup's wasm is size-bound (its budget): optimise until nothing more shrinks,
            // and let wasm-opt fold address offsets into the low 1 KB of memory, which Rust's
            // wasm never uses (the stack is placed first and grows down towards 0 from 1 MB; data
            // lies above it): ~0.7 KB gzipped.
            let converge = if krate == "popup" { vec!["--converge", "--low-memory-unused"] } else { vec![] };
            Cmd::new(tools::wasm_opt()).arg("-Oz").args(converge).args(WASM_OPT_FEATURES).arg(&wasm).arg("-o").arg(&wasm).run()?;
        }
        copy_tree(&root().join(krate).join("static"), &dest)?;
    }
    // The phone UI's stylesheet, for every extension page that hosts mpt-ui.
    copy_tree(&root().join("ui/static"), &out.join("popup"))?;
    copy_tree(&root().join("ui/static"), &out.join("panel"))?;
    copy_tree(&root().join("extension/static"), &out)?;
    // The one Voice driver and the sandbox Device (shared with the widget).
    copy_tree(&root().join("voice"), &out)?;

    let version = workspace_version()?;
    let server_url = server_url()?;
    let crm_matches = crm_matches(std::env::var("MPT_CRM_MATCHES").ok().as_deref())?;
    render_manifest(&out, &version, &server_url, &crm_matches)?;
    if !opts.debug {
        minify_content_scripts(&out)?;
    }
    let config = serde_json::json!({ "server_url": server_url, "version": version });
    write(&out.join("config.json"), config.to_string().as_bytes())?;

    let sdk = root().join("node_modules/@twilio/voice-sdk/dist/twilio.min.js");
    fs::create_dir_all(out.join("vendor")).map_err(|e| format!("creating vendor/: {e}"))?;
    fs::copy(&sdk, out.join("vendor/twilio.min.js")).map_err(|e| format!("vendoring {}: {e}", sdk.display()))?;

    print_sizes(&out)?;
    eprintln!("xtask: extension built in {}", out.display());
    // The embeddable widget (served by the api-server under /phone/v1/).
    crate::widget::build(opts, &wasm_bindgen)?;
    // The standalone web app (served by the api-server at /).
    crate::app::build(opts, &wasm_bindgen)?;
    Ok(out)
}

/// Minifies the content scripts in place (esbuild from node_modules): they are injected into
/// every matching page, so their size is start-up time on every CRM page. Debug builds keep
/// the sources as written.
fn minify_content_scripts(out: &Path) -> Result {
    for f in content_script_files(out)? {
        let path = out.join(&f);
        Cmd::new(tools::esbuild())
            .arg(&path)
            .args(["--minify", "--target=chrome116", "--charset=utf8", "--log-level=warning"])
            .arg(format!("--outfile={}", path.display()))
            .arg("--allow-overwrite")
            .run()?;
    }
    Ok(())
}

/// The files (scripts and stylesheets) of the built manifest's `content_scripts` (both worlds).
fn content_script_files(out: &Path) -> Result<Vec<String>> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).map_err(|e| format!("reading the built manifest: {e}"))?)
            .map_err(|e| format!("the built manifest is not JSON: {e}"))?;
    let mut files: Vec<String> = manifest["content_scripts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|cs| ["js", "css"].map(|k| cs[k].as_array().cloned().unwrap_or_default()))
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// The build-time CRM match patterns: `MPT_CRM_MATCHES` (comma- or space-separated, each
/// `scheme://host/*` with `scheme` http, https or `*` and `host` exact or `*.domain`), else
/// the loopback demo origins. A bad pattern fails the build rather than a silent manifest
/// Chrome refuses to load.
pub fn crm_matches(var: Option<&str>) -> Result<Vec<String>> {
    let list: Vec<String> = var.unwrap_or("").split([',', ' ', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if list.is_empty() {
        return Ok(DEFAULT_CRM_MATCHES.map(str::to_owned).to_vec());
    }
    for p in &list {
        let ok = p.split_once("://").is_some_and(|(scheme, rest)| {
            let host = rest.strip_suffix("/*").unwrap_or("");
            matches!(scheme, "http" | "https" | "*")
                && !host.is_empty()
                && !host.contains('/')
                && (host == "*" || !host[host.starts_with("*.") as usize * 2..].contains('*'))
        });
        if !ok || p.starts_with("*://*/") || p.contains("://*/") {
            return Err(format!(
                "MPT_CRM_MATCHES: `{p}` is not a CRM origin pattern like https://crm.example.com/* or https://*.example.com/*"
            ));
        }
    }
    Ok(list)
}

/// The server origin baked into the extension: `MPT_SERVER_URL` without a trailing slash.
pub fn server_url() -> Result<String> {
    let url = std::env::var("MPT_SERVER_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.into());
    let url = url.trim_end_matches('/').to_string();
    let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match host {
        Some(host) if !host.is_empty() && !host.contains('/') => Ok(url),
        _ => Err(format!("MPT_SERVER_URL must be an origin like https://phone.example.com, got `{url}`")),
    }
}

/// manifest.json (the source at the repo root) with the version and server origin filled in.
fn render_manifest(out: &Path, version: &str, server_url: &str, crm_matches: &[String]) -> Result {
    let source = fs::read_to_string(root().join("manifest.json")).map_err(|e| format!("reading manifest.json: {e}"))?;
    let rendered = render_manifest_for(&source, version, server_url, crm_matches)?;
    write(&out.join("manifest.json"), rendered.as_bytes())
}

/// The manifest with the default CRM origins (what the tidy tests check).
#[cfg(test)]
pub fn render_manifest_text(source: &str, version: &str, server_url: &str) -> Result<String> {
    render_manifest_for(source, version, server_url, &DEFAULT_CRM_MATCHES.map(str::to_owned))
}

/// The manifest with the version, the server origin and the build-time CRM origins (every
/// `content_scripts` entry's `matches`) filled in.
pub fn render_manifest_for(source: &str, version: &str, server_url: &str, crm_matches: &[String]) -> Result<String> {
    let mut manifest: serde_json::Value = serde_json::from_str(source).map_err(|e| format!("manifest.json is not valid JSON: {e}"))?;
    manifest["version"] = serde_json::Value::String(version.to_string());
    if let Some(scripts) = manifest["content_scripts"].as_array_mut() {
        for cs in scripts {
            cs["matches"] = serde_json::json!(crm_matches);
        }
    }
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    Ok(text.replace("__MPT_SERVER_ORIGIN__", server_url))
}

pub fn copy_tree(from: &Path, to: &Path) -> Result {
    if !from.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
    let entries = fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &dest)?;
        } else {
            fs::copy(&path, &dest).map_err(|e| format!("copying {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result {
    fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Raw and gzipped size of every wasm file, and of the whole directory.
fn print_sizes(out: &Path) -> Result {
    let mut total = 0u64;
    let mut files = Vec::new();
    walk(out, &mut |p| files.push(p.to_path_buf()))?;
    eprintln!("xtask: sizes (raw / gzip -9):");
    for file in &files {
        let bytes = fs::read(file).map_err(|e| e.to_string())?;
        total += bytes.len() as u64;
        if file.extension().is_some_and(|e| e == "wasm") {
            let gz = gzip_len(&bytes)?;
            let rel = file.strip_prefix(out).unwrap_or(file);
            eprintln!("  {:<40} {:>9} B / {:>8} B", rel.display(), bytes.len(), gz);
        }
    }
    eprintln!("  {:<40} {:>9} B", "dist/extension total", total);
    let popup = fs::read(out.join("popup/mpt_popup_bg.wasm")).map_err(|e| format!("reading the popup's wasm: {e}"))?;
    let gz = gzip_len(&popup)?;
    eprintln!("xtask: popup wasm {:.1} KB gzipped (budget {} KB)", gz as f64 / 1000.0, POPUP_BUDGET_GZ / 1000);
    if gz > POPUP_BUDGET_GZ {
        return Err(format!("the popup's wasm is {gz} B gzipped, over its {POPUP_BUDGET_GZ} B budget"));
    }
    let (raw, gz) = content_payload(out)?;
    eprintln!(
        "  {:<40} {:>9} B / {:>8} B  ({:.2}× the {} B gzipped of main at def5c99)",
        "content payload (injected per page)",
        raw,
        gz,
        gz as f64 / CONTENT_PAYLOAD_BEFORE_GZ as f64,
        CONTENT_PAYLOAD_BEFORE_GZ
    );
    Ok(())
}

/// What every matching page loads: the content scripts the manifest lists (both worlds, the
/// detector's glue among them) and the wasm they fetch. Raw and gzip -9 sizes, summed per file.
pub fn content_payload(out: &Path) -> Result<(usize, usize)> {
    let mut files = content_script_files(out)?;
    files.extend(["content/mpt_content.js".into(), "content/mpt_content_bg.wasm".into()]);
    files.sort();
    files.dedup();
    let (mut raw, mut gz) = (0, 0);
    for f in &files {
        let bytes = fs::read(out.join(f)).map_err(|e| format!("reading {f}: {e}"))?;
        raw += bytes.len();
        gz += gzip_len(&bytes)?;
    }
    Ok((raw, gz))
}

pub fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).map_err(|e| e.to_string())?;
    Ok(enc.finish().map_err(|e| e.to_string())?.len())
}

pub fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) -> Result {
    let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, f)?;
        } else {
            f(&path);
        }
    }
    Ok(())
}
