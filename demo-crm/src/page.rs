//! HTML page builder that records the ground truth while it writes the markup.
//!
//! Every phone number and every look-alike goes through [`Page`], so the truth
//! served at `/__truth/…` is, by construction, exactly what the page shows.

use serde::Serialize;

use crate::phone::{Format, PhoneNumber};

/// Which demo CRM a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// MPT-CRM (origin 1).
    Mpt,
    /// AMS-APP-CRM (origin 2).
    Ams,
}

/// What a look-alike digit string really is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LookAlikeKind {
    /// `Invoice #4158230199`, `INV-…`
    Invoice,
    /// `Order No. 312-884-2291`
    Order,
    /// `PO 2128830176`
    PurchaseOrder,
    /// `DL-6468120171` (deal id)
    Deal,
    /// `Claim # 508-771-2034`
    Claim,
    /// `HO3-9728830134`
    Policy,
    /// `Loan No. 7818820112`
    Loan,
    /// `Acct #4049920182`
    Account,
    /// A vehicle identification number.
    Vin,
    /// `03/14/2025`, `2025-03-14`
    Date,
    /// `94107-2231`
    Zip4,
    /// `$1,250,000`
    Amount,
    /// A conference PIN.
    Pin,
    /// `Ref 20250314-4471`
    Reference,
}

/// A number a click-to-call must find.
#[derive(Debug, Clone, Serialize)]
pub struct Expected {
    /// E.164 form.
    pub e164: String,
    /// The text as printed (without the extension).
    pub text: String,
    /// Extension digits, when printed after the number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<String>,
    /// What the number is (work, mobile, fax, footer, timeline, …).
    pub field: String,
    /// The contact (row/card `data-contact-id`) it belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// True when the number is the text of a `tel:` link.
    pub tel_link: bool,
}

/// A digit string that looks like a phone number but is not one.
#[derive(Debug, Clone, Serialize)]
pub struct LookAlike {
    /// What it is.
    pub kind: LookAlikeKind,
    /// The text as printed, including its label (e.g. `Invoice #4158230199`).
    pub text: String,
}

/// Where a real number sits that a click-to-call must leave alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoredPlace {
    /// An `<input>` value.
    Input,
    /// A `contenteditable` element.
    Contenteditable,
    /// A `<script type="application/json">` data island.
    Script,
    /// An `<option>` of a `<select>`.
    Option,
    /// Inside a closed `<details>`: not shown, so not marked until the agent expands it.
    Collapsed,
}

/// A real number in a place that must not be marked or modified.
#[derive(Debug, Clone, Serialize)]
pub struct Ignored {
    /// E.164 form.
    pub e164: String,
    /// The text as printed.
    pub text: String,
    /// Where it is.
    pub place: IgnoredPlace,
}

/// The ground truth of one page.
#[derive(Debug, Clone, Serialize)]
pub struct PageTruth {
    /// Which site.
    pub site: Site,
    /// The page path (with query, if any).
    pub path: String,
    /// How many numbers must be marked (`numbers.len()`).
    pub count: usize,
    /// How many distinct E.164 numbers among them.
    pub unique_count: usize,
    /// True when the page is rendered by its own script after load (rows appear later).
    pub client_rendered: bool,
    /// Distinct E.164 numbers, sorted.
    pub unique: Vec<String>,
    /// Every number to mark, in document order.
    pub numbers: Vec<Expected>,
    /// Look-alikes that must not be marked.
    pub not_numbers: Vec<LookAlike>,
    /// Real numbers in inputs, editors, scripts, options: must stay untouched.
    pub ignored: Vec<Ignored>,
}

impl PageTruth {
    fn new(site: Site, path: &str) -> Self {
        Self {
            site,
            path: path.to_owned(),
            count: 0,
            unique_count: 0,
            client_rendered: false,
            unique: Vec::new(),
            numbers: Vec::new(),
            not_numbers: Vec::new(),
            ignored: Vec::new(),
        }
    }

    /// Drops the per-occurrence lists, keeping counts and the unique list.
    pub fn summary(mut self) -> Self {
        self.numbers.clear();
        self.not_numbers.clear();
        self.ignored.clear();
        self
    }
}

/// One piece of free text (an activity note) that may carry numbers.
#[derive(Debug, Clone)]
pub enum Seg {
    /// Plain text.
    Text(String),
    /// A phone number to mark.
    Phone(PhoneNumber, Format),
    /// A look-alike.
    LookAlike(LookAlikeKind, String),
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Writes a page and its truth together.
#[derive(Debug)]
pub struct Page {
    html: String,
    truth: PageTruth,
    contact: Option<String>,
}

impl Page {
    /// An empty page of `site` at `path`.
    pub fn new(site: Site, path: &str) -> Self {
        Self { html: String::with_capacity(16 * 1024), truth: PageTruth::new(site, path), contact: None }
    }

    /// Marks the page as rendered by its own script (the truth describes the DOM after it ran).
    pub fn client_rendered(&mut self) -> &mut Self {
        self.truth.client_rendered = true;
        self
    }

    /// Sets the contact the next numbers belong to.
    pub fn contact(&mut self, id: Option<&str>) -> &mut Self {
        self.contact = id.map(str::to_owned);
        self
    }

    /// Appends trusted markup.
    pub fn raw(&mut self, markup: &str) -> &mut Self {
        self.html.push_str(markup);
        self
    }

    /// Appends escaped text.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.html.push_str(&esc(text));
        self
    }

    fn expect(&mut self, n: &PhoneNumber, text: &str, ext: Option<&str>, field: &str, tel: bool) {
        self.truth.numbers.push(Expected {
            e164: n.e164(),
            text: text.to_owned(),
            ext: ext.map(str::to_owned),
            field: field.to_owned(),
            contact_id: self.contact.clone(),
            tel_link: tel,
        });
    }

    /// Appends a number as plain text.
    pub fn phone(&mut self, n: &PhoneNumber, f: Format, field: &str) -> &mut Self {
        let text = n.format(f);
        self.expect(n, &text, None, field, false);
        self.text(&text)
    }

    /// Appends a number followed by ` ext. 204`.
    pub fn phone_ext(&mut self, n: &PhoneNumber, f: Format, ext: &str, field: &str) -> &mut Self {
        let text = n.format(f);
        self.expect(n, &text, Some(ext), field, false);
        self.text(&format!("{text} ext. {ext}"))
    }

    /// Appends a `tel:` link whose text is the number.
    pub fn tel(&mut self, n: &PhoneNumber, f: Format, field: &str) -> &mut Self {
        let text = n.format(f);
        self.expect(n, &text, None, field, true);
        let markup = format!("<a class=\"tel\" href=\"tel:{}\">{}</a>", n.e164(), esc(&text));
        self.raw(&markup)
    }

    /// Appends a look-alike (its label included in `text`).
    pub fn look_alike(&mut self, kind: LookAlikeKind, text: &str) -> &mut Self {
        self.truth.not_numbers.push(LookAlike { kind, text: text.to_owned() });
        self.text(text)
    }

    /// Appends free text made of segments.
    pub fn segs(&mut self, segs: &[Seg], field: &str) -> &mut Self {
        for s in segs {
            match s {
                Seg::Text(t) => self.text(t),
                Seg::Phone(n, f) => self.phone(n, *f, field),
                Seg::LookAlike(k, t) => self.look_alike(*k, t),
            };
        }
        self
    }

    /// Records a number placed in an input, editor, script or option; returns its text
    /// (unescaped) for the caller to place.
    pub fn ignored(&mut self, n: &PhoneNumber, f: Format, place: IgnoredPlace) -> String {
        let text = n.format(f);
        self.truth.ignored.push(Ignored { e164: n.e164(), text: text.clone(), place });
        text
    }

    /// Records a number placed verbatim as `text` (e.g. E.164 in a JSON data island).
    pub fn ignored_text(&mut self, n: &PhoneNumber, text: &str, place: IgnoredPlace) {
        self.truth.ignored.push(Ignored { e164: n.e164(), text: text.to_owned(), place });
    }

    /// The markup and its truth.
    pub fn finish(self) -> (String, PageTruth) {
        let mut truth = self.truth;
        truth.count = truth.numbers.len();
        let mut unique: Vec<String> = truth.numbers.iter().map(|e| e.e164.clone()).collect();
        unique.sort();
        unique.dedup();
        truth.unique_count = unique.len();
        truth.unique = unique;
        (self.html, truth)
    }

    /// Records numbers that a client-side script will render (they are not in the markup).
    pub fn expect_rendered(&mut self, n: &PhoneNumber, f: Format, field: &str, tel: bool) {
        let text = n.format(f);
        self.expect(n, &text, None, field, tel);
    }

    /// Records a look-alike that a client-side script will render.
    pub fn look_alike_rendered(&mut self, kind: LookAlikeKind, text: &str) {
        self.truth.not_numbers.push(LookAlike { kind, text: text.to_owned() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_what_it_writes() {
        let mut p = Page::new(Site::Mpt, "/x");
        let n = PhoneNumber::nanp(415, 5550123);
        p.contact(Some("c-0001"));
        p.raw("<p>").tel(&n, Format::Paren, "work").text(" & ").phone(&n, Format::Dot, "mobile");
        p.look_alike(LookAlikeKind::Invoice, "Invoice #4158230199");
        let (html, t) = p.finish();
        assert_eq!(html, "<p><a class=\"tel\" href=\"tel:+14155550123\">(415) 555-0123</a> &amp; 415.555.0123Invoice #4158230199");
        assert_eq!(t.count, 2);
        assert_eq!(t.unique, vec!["+14155550123".to_owned()]);
        assert_eq!(t.numbers[0].contact_id.as_deref(), Some("c-0001"));
        assert!(t.numbers[0].tel_link && !t.numbers[1].tel_link);
        assert_eq!(t.not_numbers.len(), 1);
    }

    #[test]
    fn escapes() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
