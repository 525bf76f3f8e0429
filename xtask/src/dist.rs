//! `cargo xtask dist`: a zip of the release build, ready for the Chrome Web Store, and the
//! embeddable widget's npm package `@mpt/phone-widget` (`npm pack` tarball).

use std::fs::File;
use std::io::Write;

use zip::write::SimpleFileOptions;

use crate::extension::{self, walk};
use crate::{root, workspace_version, Result};

/// A store build talks to its server over the network: plain `http://` is refused
/// unless the server is on this computer (loopback), where nothing crosses a wire.
pub fn check_release_server(url: &str) -> Result {
    let Some(rest) = url.strip_prefix("http://") else { return Ok(()) };
    let host = if rest.starts_with('[') {
        rest.split(']').next().map(|h| &h[1..]).unwrap_or("")
    } else {
        rest.split([':', '/']).next().unwrap_or("")
    };
    let loopback =
        host.eq_ignore_ascii_case("localhost") || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!("cargo xtask dist: MPT_SERVER_URL `{url}` is plain http:// to another computer; use https:// (http is allowed only for loopback)"))
    }
}

pub fn dist() -> Result {
    check_release_server(&extension::server_url()?)?;
    let dir = extension::build(&extension::BuildOptions { debug: false })?;
    let version = workspace_version()?;
    let path = root().join(format!("dist/mpt-phone-{version}.zip"));
    let file = File::create(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).compression_level(Some(9));
    let mut files = Vec::new();
    walk(&dir, &mut |p| files.push(p.to_path_buf()))?;
    for file in files {
        let name = file.strip_prefix(&dir).map_err(|e| e.to_string())?.to_string_lossy().replace('\\', "/");
        let bytes = std::fs::read(&file).map_err(|e| format!("reading {}: {e}", file.display()))?;
        zip.start_file(name, options).map_err(|e| e.to_string())?;
        zip.write_all(&bytes).map_err(|e| e.to_string())?;
    }
    zip.finish().map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("{} ({size} bytes)", path.display());
    let tarball = crate::widget::npm_package(&crate::widget::dist_dir(), &version)?;
    println!("{}", tarball.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_release_server;

    #[test]
    fn dist_refuses_plain_http_off_loopback() {
        for ok in ["https://phone.example.com", "http://127.0.0.1:8787", "http://localhost:3000", "http://127.0.0.2", "http://[::1]:8787"] {
            assert!(check_release_server(ok).is_ok(), "{ok}");
        }
        for bad in ["http://phone.example.com", "http://10.0.0.2:8787", "http://localhost.evil.com", "http://127.0.0.1.evil.com"] {
            assert!(check_release_server(bad).is_err(), "{bad}");
        }
    }
}
