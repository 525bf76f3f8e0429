//! The static assets under `demo-crm/sites/`, compiled into the binary.

const FILES: [(&str, &str, &str); 7] = [
    ("mpt.css", include_str!("../sites/mpt/mpt.css"), "text/css; charset=utf-8"),
    ("mpt.js", include_str!("../sites/mpt/mpt.js"), "text/javascript; charset=utf-8"),
    ("favicon.svg", include_str!("../sites/mpt/favicon.svg"), "image/svg+xml"),
    ("ams.css", include_str!("../sites/ams/ams.css"), "text/css; charset=utf-8"),
    ("ams.js", include_str!("../sites/ams/ams.js"), "text/javascript; charset=utf-8"),
    ("renewals.js", include_str!("../sites/ams/renewals.js"), "text/javascript; charset=utf-8"),
    ("favicon-ams.svg", include_str!("../sites/ams/favicon.svg"), "image/svg+xml"),
];

/// The body and content type of `/static/{name}`.
pub fn get(name: &str) -> Option<(&'static str, &'static str)> {
    FILES.iter().find(|(n, _, _)| *n == name).map(|(_, body, mime)| (*body, *mime))
}
