//! Who sent a message: one of our own pages, or a content script in a tab.
//!
//! Our pages are recognised by their URL (the extension's own origin), never by
//! what the message claims. A content script is a sender with a tab whose frame
//! origin matches its URL and is http(s).

use serde::Deserialize;

/// Where a message came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// The toolbar popup (or the popup page opened in a tab).
    Popup,
    /// The call panel (`panel/panel.html`) framed by a content script in a tab. It has
    /// no message rights of its own: it talks only over the port its content script's
    /// one-time nonce opens.
    Panel {
        /// The tab it is framed in.
        tab_id: i32,
    },
    /// The offscreen document running the Twilio Voice SDK.
    Offscreen,
    /// The options page (`options/index.html`, in its options frame or a tab).
    Options,
    /// A content script.
    Content {
        /// Tab the script runs in.
        tab_id: i32,
        /// Origin of its frame (`http://127.0.0.1:4000`).
        origin: String,
        /// The browser's id of the sending document (changes when the frame navigates).
        document_id: String,
        /// The tab's top frame (`frameId` 0), where an incoming call's panel rings.
        top: bool,
    },
}

/// The parts of `chrome.runtime.MessageSender` we look at.
#[derive(Debug, Default, Deserialize)]
pub struct RawSender {
    /// Extension id of the sender.
    #[serde(default)]
    pub id: Option<String>,
    /// URL of the sending document.
    #[serde(default)]
    pub url: Option<String>,
    /// Origin of the sending frame.
    #[serde(default)]
    pub origin: Option<String>,
    /// Tab of the sender, for content scripts and pages opened in a tab.
    #[serde(default)]
    pub tab: Option<RawTab>,
    /// The sending document's id (Chrome 106+).
    #[serde(default, rename = "documentId")]
    pub document_id: Option<String>,
    /// The sending frame (0: the tab's top frame).
    #[serde(default, rename = "frameId")]
    pub frame_id: Option<i32>,
}

/// `chrome.tabs.Tab`, only the id.
#[derive(Debug, Default, Deserialize)]
pub struct RawTab {
    /// Tab id.
    #[serde(default)]
    pub id: Option<i32>,
}

/// Origin (`scheme://host[:port]`) of an absolute http(s) URL, or `None`.
pub fn http_origin(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
    let scheme_len = url.len() - rest.len();
    let host_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if host_len == 0 {
        return None;
    }
    Some(&url[..scheme_len + host_len])
}

/// Classifies a sender. `ext_id` is our extension id, `ext_base` our root URL
/// (`chrome-extension://<id>/`).
pub fn classify(raw: &RawSender, ext_id: &str, ext_base: &str) -> Option<Sender> {
    if raw.id.as_deref() != Some(ext_id) {
        return None;
    }
    let url = raw.url.as_deref()?;
    if let Some(path) = url.strip_prefix(ext_base) {
        if let Some(origin) = raw.origin.as_deref() {
            if !ext_base.starts_with(origin) {
                return None;
            }
        }
        let path = path.split(['?', '#']).next().unwrap_or("");
        return if path == "panel/panel.html" {
            raw.tab.as_ref().and_then(|t| t.id).map(|tab_id| Sender::Panel { tab_id })
        } else if path.starts_with("popup/") {
            Some(Sender::Popup)
        } else if path.starts_with("options/") {
            Some(Sender::Options)
        } else if path == "offscreen.html" {
            Some(Sender::Offscreen)
        } else {
            None
        };
    }
    let tab_id = raw.tab.as_ref()?.id?;
    let document_id = raw.document_id.clone()?;
    let url_origin = http_origin(url)?;
    let origin = raw.origin.as_deref().unwrap_or(url_origin);
    if origin != url_origin {
        return None;
    }
    Some(Sender::Content { tab_id, origin: origin.to_owned(), document_id, top: raw.frame_id == Some(0) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "abcdefghijklmnopabcdefghijklmnop";
    const BASE: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop/";

    fn raw(id: &str, url: &str, origin: Option<&str>, tab: Option<i32>) -> RawSender {
        RawSender {
            id: Some(id.into()),
            url: Some(url.into()),
            origin: origin.map(Into::into),
            tab: tab.map(|t| RawTab { id: Some(t) }),
            document_id: Some("DOC1".into()),
            frame_id: None,
        }
    }

    #[test]
    fn our_pages() {
        let p = raw(ID, &format!("{BASE}popup/index.html"), Some(BASE.trim_end_matches('/')), None);
        assert_eq!(classify(&p, ID, BASE), Some(Sender::Popup));
        // popup opened in a tab is still the popup
        let p = raw(ID, &format!("{BASE}popup/index.html?x=1"), None, Some(3));
        assert_eq!(classify(&p, ID, BASE), Some(Sender::Popup));
        let o = raw(ID, &format!("{BASE}offscreen.html"), None, None);
        assert_eq!(classify(&o, ID, BASE), Some(Sender::Offscreen));
        // the panel, framed in a tab; without a tab it is nothing we made
        let f = raw(ID, &format!("{BASE}panel/panel.html#0123"), None, Some(4));
        assert_eq!(classify(&f, ID, BASE), Some(Sender::Panel { tab_id: 4 }));
        let f = raw(ID, &format!("{BASE}panel/panel.html"), None, None);
        assert_eq!(classify(&f, ID, BASE), None);
        let o = raw(ID, &format!("{BASE}options/index.html"), None, Some(4));
        assert_eq!(classify(&o, ID, BASE), Some(Sender::Options));
        // a page elsewhere named like it is not the options page
        let o = raw(ID, "https://evil.test/options/index.html", None, Some(4));
        assert_ne!(classify(&o, ID, BASE), Some(Sender::Options));
        // other pages of ours have no message rights
        let w = raw(ID, &format!("{BASE}welcome.html"), None, Some(1));
        assert_eq!(classify(&w, ID, BASE), None);
    }

    #[test]
    fn content_scripts() {
        let c = raw(ID, "http://127.0.0.1:4000/contacts/1", Some("http://127.0.0.1:4000"), Some(7));
        assert_eq!(
            classify(&c, ID, BASE),
            Some(Sender::Content { tab_id: 7, origin: "http://127.0.0.1:4000".into(), document_id: "DOC1".into(), top: false })
        );
        // The tab's top frame is where an incoming call's panel rings.
        let mut top = raw(ID, "http://127.0.0.1:4000/contacts/1", Some("http://127.0.0.1:4000"), Some(7));
        top.frame_id = Some(0);
        assert!(matches!(classify(&top, ID, BASE), Some(Sender::Content { top: true, .. })));
        // no document id: not a content script we can address alone
        let mut c = raw(ID, "http://127.0.0.1:4000/", None, Some(7));
        c.document_id = None;
        assert_eq!(classify(&c, ID, BASE), None);
        // no tab: not a content script
        let c = raw(ID, "http://127.0.0.1:4000/", None, None);
        assert_eq!(classify(&c, ID, BASE), None);
        // origin that disagrees with the URL
        let c = raw(ID, "http://127.0.0.1:4000/", Some("http://evil.test"), Some(1));
        assert_eq!(classify(&c, ID, BASE), None);
        // non-http page
        let c = raw(ID, "file:///tmp/x.html", None, Some(1));
        assert_eq!(classify(&c, ID, BASE), None);
    }

    #[test]
    fn other_extensions_are_rejected() {
        let p = raw("zzzz", &format!("{BASE}popup/index.html"), None, None);
        assert_eq!(classify(&p, ID, BASE), None);
        let mut none = RawSender::default();
        assert_eq!(classify(&none, ID, BASE), None);
        none.id = Some(ID.into());
        assert_eq!(classify(&none, ID, BASE), None);
    }

    #[test]
    fn origins() {
        assert_eq!(http_origin("http://a.b:8/x?y"), Some("http://a.b:8"));
        assert_eq!(http_origin("https://a.b"), Some("https://a.b"));
        assert_eq!(http_origin("https:///x"), None);
        assert_eq!(http_origin("chrome://x"), None);
    }
}
