//! `cargo xtask dist`: a zip of the release build, ready for the Chrome Web Store, and the
//! embeddable widget's npm package `@mpt/phone-widget` (`npm pack` tarball).

use std::fs::File;
use std::io::Write;

use zip::write::SimpleFileOptions;

use crate::extension::{self, walk};
use crate::{root, workspace_version, Result};

pub fn dist() -> Result {
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
