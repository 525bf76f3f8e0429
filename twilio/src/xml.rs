//! A small XML element tree: rendering exactly as the official `twilio` npm
//! library (xmlbuilder) does, and a tolerant reader for TwiML documents.

use crate::TwilioError;

/// One element: name, attributes in order, text content, child elements.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Element {
    /// Tag name.
    pub name: String,
    /// Attributes in document order.
    pub attrs: Vec<(String, String)>,
    /// Text content (before any children), unescaped.
    pub text: Option<String>,
    /// Child elements.
    pub children: Vec<Element>,
}

/// The XML declaration the official library prints.
pub const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

fn legal(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars().filter(|c| legal(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars().filter(|c| legal(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

impl Element {
    /// An element with no attributes, text or children.
    pub fn new(name: &str) -> Self {
        Self { name: name.to_string(), ..Self::default() }
    }

    /// Adds an attribute (builder style).
    pub fn attr(mut self, name: &str, value: impl Into<String>) -> Self {
        self.attrs.push((name.to_string(), value.into()));
        self
    }

    /// The value of an attribute.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Appends the compact rendering (no whitespace, `<X/>` when empty).
    /// Characters XML 1.0 forbids are dropped (the npm library throws on them).
    pub fn render_into(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_attr(v, out);
            out.push('"');
        }
        let text = self.text.as_deref().filter(|t| !t.is_empty());
        if text.is_none() && self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        if let Some(t) = text {
            escape_text(t, out);
        }
        for c in &self.children {
            c.render_into(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// The document: declaration + this element.
    pub fn to_document(&self) -> String {
        let mut out = String::from(DECLARATION);
        self.render_into(&mut out);
        out
    }
}

struct Reader<'a> {
    s: &'a str,
    pos: usize,
}

fn err(offset: usize, reason: impl Into<String>) -> TwilioError {
    TwilioError::InvalidTwiml { offset, reason: reason.into() }
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.s.len() - trimmed.len();
    }

    fn expect(&mut self, lit: &str) -> Result<(), TwilioError> {
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(err(self.pos, format!("expected `{lit}`")))
        }
    }

    fn skip_past(&mut self, end: &str) -> Result<(), TwilioError> {
        match self.rest().find(end) {
            Some(i) => {
                self.pos += i + end.len();
                Ok(())
            }
            None => Err(err(self.pos, format!("unterminated construct, missing `{end}`"))),
        }
    }

    /// Skips the prolog, comments, processing instructions and a doctype.
    fn skip_misc(&mut self) -> Result<(), TwilioError> {
        loop {
            self.skip_ws();
            let r = self.rest();
            if r.starts_with("<?") {
                self.skip_past("?>")?;
            } else if r.starts_with("<!--") {
                self.skip_past("-->")?;
            } else if r.starts_with("<!DOCTYPE") || r.starts_with("<!doctype") {
                self.skip_past(">")?;
            } else {
                return Ok(());
            }
        }
    }

    fn name(&mut self) -> Result<String, TwilioError> {
        let r = self.rest();
        let len = r.find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))).unwrap_or(r.len());
        if len == 0 {
            return Err(err(self.pos, "expected a name"));
        }
        self.pos += len;
        Ok(r[..len].to_string())
    }

    fn element(&mut self, depth: usize) -> Result<Element, TwilioError> {
        if depth > 64 {
            return Err(err(self.pos, "elements nested too deeply"));
        }
        self.expect("<")?;
        let mut el = Element::new(&self.name()?);
        loop {
            self.skip_ws();
            if self.rest().starts_with("/>") {
                self.pos += 2;
                return Ok(el);
            }
            if self.rest().starts_with('>') {
                self.pos += 1;
                break;
            }
            let key = self.name()?;
            self.skip_ws();
            self.expect("=")?;
            self.skip_ws();
            let quote = match self.rest().chars().next() {
                Some(q @ ('"' | '\'')) => q,
                _ => return Err(err(self.pos, "expected a quoted attribute value")),
            };
            self.pos += 1;
            let end = self.rest().find(quote).ok_or_else(|| err(self.pos, "unterminated attribute value"))?;
            let raw = &self.rest()[..end];
            let start = self.pos;
            self.pos += end + 1;
            if el.attrs.iter().any(|(k, _)| *k == key) {
                return Err(err(start, format!("duplicate attribute `{key}`")));
            }
            el.attrs.push((key, unescape(raw, start)?));
        }
        let mut text = String::new();
        loop {
            let r = self.rest();
            if r.is_empty() {
                return Err(err(self.pos, format!("unclosed element <{}>", el.name)));
            }
            if r.starts_with("</") {
                self.pos += 2;
                let close = self.name()?;
                if close != el.name {
                    return Err(err(self.pos, format!("</{close}> closes <{}>", el.name)));
                }
                self.skip_ws();
                self.expect(">")?;
                break;
            } else if r.starts_with("<!--") {
                self.skip_past("-->")?;
            } else if r.starts_with("<![CDATA[") {
                self.pos += 9;
                let end = self.rest().find("]]>").ok_or_else(|| err(self.pos, "unterminated CDATA"))?;
                text.push_str(&self.rest()[..end]);
                self.pos += end + 3;
            } else if r.starts_with("<?") {
                self.skip_past("?>")?;
            } else if r.starts_with('<') {
                el.children.push(self.element(depth + 1)?);
            } else {
                let end = r.find('<').unwrap_or(r.len());
                text.push_str(&unescape(&r[..end], self.pos)?);
                self.pos += end;
            }
        }
        let trimmed = text.trim();
        if !trimmed.is_empty() {
            el.text = Some(trimmed.to_string());
        }
        Ok(el)
    }
}

fn unescape(raw: &str, offset: usize) -> Result<String, TwilioError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after.find(';').ok_or_else(|| err(offset, "unterminated entity reference"))?;
        let ent = &after[..end];
        let c = match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = ent.strip_prefix("#x").or_else(|| ent.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = ent.strip_prefix('#') {
                    dec.parse::<u32>().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32).ok_or_else(|| err(offset, format!("unknown entity `&{ent};`")))?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses a document into its root element.
pub fn parse_document(s: &str) -> Result<Element, TwilioError> {
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    let mut r = Reader { s, pos: 0 };
    r.skip_misc()?;
    let root = r.element(0)?;
    r.skip_misc()?;
    if !r.rest().trim().is_empty() {
        return Err(err(r.pos, "content after the root element"));
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_and_parse_round_trip() {
        let el = Element::new("Response").attr("a", "x\"<&\t\n\r'>");
        let mut el = el;
        el.children.push(Element { text: Some("1 < 2 & 'q' \"r\" \r".into()), ..Element::new("Say") });
        el.children.push(Element::new("Hangup"));
        let doc = el.to_document();
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response a=\"x&quot;&lt;&amp;&#x9;&#xA;&#xD;'>\"><Say>1 &lt; 2 &amp; 'q' \"r\" &#xD;</Say><Hangup/></Response>"
        );
        let back = parse_document(&doc).expect("parse");
        assert_eq!(back.get("a"), Some("x\"<&\t\n\r'>"));
        assert_eq!(back.children[0].text.as_deref(), Some("1 < 2 & 'q' \"r\""));
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "<Response>", "<Response></Say>", "<Response a=1/>", "<A/><B/>", "<A>&bogus;</A>"] {
            assert!(parse_document(bad).is_err(), "{bad}");
        }
        let ok =
            parse_document("<?xml version='1.0'?>\n<!-- hi -->\n<Response>\n  <Say><![CDATA[a<b]]></Say>\n</Response>\n").expect("parse");
        assert_eq!(ok.children[0].text.as_deref(), Some("a<b"));
    }
}
