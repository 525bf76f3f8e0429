//! MPT-CRM (origin 1): contact list, contact detail, stress and strict-CSP pages.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::data::{money_dollars, Contact, Mpt, STAGES};
use crate::error::Error;
use crate::page::{esc, IgnoredPlace, LookAlikeKind, Page, Site};
use crate::phone::Format;
use crate::Rendered;

/// Rows per list page (and per "Load more").
pub const PAGE_SIZE: usize = 50;
/// Highest `page` a list URL accepts.
pub const MAX_PAGE: usize = 10_000;
/// Rows on `/strict-csp`.
pub const CSP_ROWS: usize = 25;
/// The policy `/strict-csp` is served with: no inline script, no `wasm-unsafe-eval`.
pub const STRICT_CSP: &str = "default-src 'self'";

fn head(p: &mut Page, title: &str, script: bool) {
    p.raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<title>")
        .text(title)
        .raw(" · MPT-CRM</title><link rel=\"icon\" href=\"/static/favicon.svg\">")
        .raw("<link rel=\"stylesheet\" href=\"/static/mpt.css\">");
    if script {
        p.raw("<script src=\"/static/mpt.js\" defer></script>");
    }
    p.raw("</head><body class=\"mpt\"><header class=\"topbar\"><a class=\"brand\" href=\"/contacts\">")
        .raw("<span class=\"logo\">M</span>MPT-CRM</a><nav class=\"mainnav\">")
        .raw("<a href=\"/contacts\">Contacts</a><a href=\"/stress\">All records</a>")
        .raw("<a href=\"/strict-csp\">Secure view</a></nav>")
        .raw("<input class=\"search\" type=\"search\" placeholder=\"Search contacts\" aria-label=\"Search\">")
        .raw("<div class=\"user\">Dana Reyes</div></header><main>");
}

fn foot(p: &mut Page, data: &Mpt) {
    p.contact(None);
    p.raw("</main><footer class=\"footer\">MPT-CRM support: ")
        .phone(&data.support, Format::LeadingOne, "support")
        .raw(" · Mon–Fri 8–6 PT · © 2025 MPT-CRM Inc.</footer></body></html>\n");
}

fn stage_class(stage: &str) -> String {
    format!("badge stage-{}", stage.to_lowercase())
}

/// One row of the contact list (the same markup `mpt.js` builds from `/contacts.json`).
fn contact_row(p: &mut Page, c: &Contact) {
    p.contact(Some(&c.id));
    p.raw(&format!("<tr data-contact-id=\"{}\"><td class=\"name\"><a href=\"/contacts/{}\">", c.id, c.id))
        .text(&c.name())
        .raw("</a></td><td>")
        .text(&c.company)
        .raw("</td><td>")
        .tel(&c.work.0, c.work.1, "work")
        .raw("</td><td>")
        .phone(&c.mobile.0, c.mobile.1, "mobile")
        .raw(&format!("</td><td><span class=\"{}\">", stage_class(c.stage)))
        .text(c.stage)
        .raw("</span></td><td>")
        .text(&c.last_contact.long())
        .raw("</td><td class=\"num\">")
        .look_alike(LookAlikeKind::Amount, &money_dollars(c.deal_value))
        .raw("</td><td class=\"deal\">")
        .look_alike(LookAlikeKind::Deal, &c.deal_id)
        .raw("</td></tr>");
}

const LIST_HEAD: &str = "<thead><tr><th>Name</th><th>Company</th><th>Phone</th><th>Mobile</th>\
<th>Stage</th><th>Last contact</th><th class=\"num\">Deal value</th><th>Deal</th></tr></thead>";

/// The list query: stage filter and how many pages are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Stage filter (one of [`STAGES`]).
    pub stage: Option<&'static str>,
    /// Pages shown (1 = first 50 rows).
    pub page: usize,
}

impl ListQuery {
    /// Parses `stage` and `page` from a query string map.
    pub fn parse(q: &BTreeMap<String, String>) -> Result<Self, Error> {
        let stage = match q.get("stage").map(String::as_str) {
            None | Some("") => None,
            Some(s) => Some(
                *STAGES.iter().find(|st| st.eq_ignore_ascii_case(s)).ok_or_else(|| Error::BadRequest(format!("unknown stage {s:?}")))?,
            ),
        };
        let page = match q.get("page") {
            None => 1,
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|p| (1..=MAX_PAGE).contains(p))
                .ok_or_else(|| Error::BadRequest(format!("page must be an integer from 1 to {MAX_PAGE}, got {s:?}")))?,
        };
        Ok(Self { stage, page })
    }

    /// The canonical list path, `/contacts?stage=Won&page=2`.
    pub fn path(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.stage {
            parts.push(format!("stage={s}"));
        }
        if self.page > 1 {
            parts.push(format!("page={}", self.page));
        }
        if parts.is_empty() {
            "/contacts".to_owned()
        } else {
            format!("/contacts?{}", parts.join("&"))
        }
    }
}

fn filtered<'a>(data: &'a Mpt, stage: Option<&str>) -> Vec<&'a Contact> {
    data.contacts.iter().filter(|c| stage.is_none_or(|s| c.stage == s)).collect()
}

fn contact_list(data: &Mpt, q: &ListQuery) -> Rendered {
    let rows = filtered(data, q.stage);
    let shown = (q.page * PAGE_SIZE).min(rows.len());
    let mut p = Page::new(Site::Mpt, &q.path());
    head(&mut p, "Contacts", true);
    p.raw("<div class=\"toolbar\"><h1>Contacts</h1><nav class=\"tabs\">");
    let all_class = if q.stage.is_none() { " class=\"active\"" } else { "" };
    p.raw(&format!("<a href=\"/contacts\"{all_class}>All</a>"));
    for s in STAGES {
        let class = if q.stage == Some(s) { " class=\"active\"" } else { "" };
        p.raw(&format!("<a href=\"/contacts?stage={s}\" data-stage=\"{s}\"{class}>{s}</a>"));
    }
    p.raw("</nav></div><div class=\"card flush\"><table class=\"grid\" id=\"contacts\">").raw(LIST_HEAD).raw("<tbody>");
    for c in &rows[..shown] {
        contact_row(&mut p, c);
    }
    let hidden = if shown < rows.len() { "" } else { " hidden" };
    p.raw("</tbody></table><div class=\"pager\"><span class=\"shown\">").text(&format!("Showing {shown} of {}", rows.len())).raw(&format!(
        "</span><button type=\"button\" class=\"btn load-more\" data-next-page=\"{}\"{hidden}>Load more</button></div></div>",
        q.page + 1
    ));
    foot(&mut p, data);
    let (html, truth) = p.finish();
    Rendered { html, truth, csp: None }
}

/// One row as `/contacts.json` returns it (display strings included, as a CRM's view model).
#[derive(Debug, Serialize)]
pub struct RowJson {
    /// `c-0042`
    pub id: String,
    /// Full name.
    pub name: String,
    /// Company.
    pub company: String,
    /// Work number, E.164.
    pub phone_e164: String,
    /// Work number as printed.
    pub phone_text: String,
    /// Mobile number as printed.
    pub mobile_text: String,
    /// Stage.
    pub stage: String,
    /// Last contact, `Mar 14, 2025`.
    pub last_contact: String,
    /// `$48,500`
    pub deal_value: String,
    /// `DL-…`
    pub deal_id: String,
}

/// The page of rows `mpt.js` fetches on "Load more" and on tab changes.
#[derive(Debug, Serialize)]
pub struct RowsJson {
    /// Page number.
    pub page: usize,
    /// Rows matching the filter.
    pub total: usize,
    /// Rows shown once this page is added.
    pub shown: usize,
    /// True when another page exists.
    pub has_more: bool,
    /// This page's rows.
    pub rows: Vec<RowJson>,
}

/// `/contacts.json?stage=…&page=N`: the rows of page N only.
pub fn contacts_json(data: &Mpt, q: &ListQuery) -> RowsJson {
    let all = filtered(data, q.stage);
    let start = ((q.page - 1) * PAGE_SIZE).min(all.len());
    let end = (q.page * PAGE_SIZE).min(all.len());
    let rows = all[start..end]
        .iter()
        .map(|c| RowJson {
            id: c.id.clone(),
            name: c.name(),
            company: c.company.clone(),
            phone_e164: c.work.0.e164(),
            phone_text: c.work.0.format(c.work.1),
            mobile_text: c.mobile.0.format(c.mobile.1),
            stage: c.stage.to_owned(),
            last_contact: c.last_contact.long(),
            deal_value: money_dollars(c.deal_value),
            deal_id: c.deal_id.clone(),
        })
        .collect();
    RowsJson { page: q.page, total: all.len(), shown: end, has_more: end < all.len(), rows }
}

fn field(p: &mut Page, label: &str) {
    p.raw("<dt>").text(label).raw("</dt><dd>");
}

fn contact_detail(data: &Mpt, c: &Contact) -> Rendered {
    let mut p = Page::new(Site::Mpt, &format!("/contacts/{}", c.id));
    head(&mut p, &c.name(), true);
    let initials: String = [c.first.chars().next(), c.last.chars().next()].iter().flatten().collect();
    p.contact(Some(&c.id));
    p.raw("<div class=\"breadcrumbs\"><a href=\"/contacts\">Contacts</a> / ")
        .text(&c.name())
        .raw(&format!(
            "</div><div class=\"record\" data-contact-id=\"{}\"><section class=\"record-header card\"><div class=\"avatar\">",
            c.id
        ))
        .text(&initials)
        .raw("</div><div class=\"who\"><h1>")
        .text(&c.name())
        .raw("</h1><p>")
        .text(&format!("{} at {}", c.title, c.company))
        .raw(&format!("</p></div><span class=\"{}\">", stage_class(c.stage)))
        .text(c.stage)
        .raw("</span><div class=\"owner\">Owner: ")
        .text(c.owner)
        .raw("</div></section><div class=\"columns\"><div class=\"col\">");

    p.raw("<section class=\"card\"><h2>Contact details</h2><dl class=\"fields\">");
    field(&mut p, "Work");
    p.tel(&c.work.0, c.work.1, "work").raw("</dd>");
    field(&mut p, "Mobile");
    p.phone(&c.mobile.0, c.mobile.1, "mobile").raw("</dd>");
    field(&mut p, "Fax");
    p.phone(&c.fax.0, c.fax.1, "fax").raw("</dd>");
    field(&mut p, "Home");
    p.phone_ext(&c.home.0, c.home.1, &c.home.2, "home").raw("</dd>");
    field(&mut p, "Email");
    p.raw(&format!("<a href=\"mailto:{0}\">{0}</a></dd>", esc(&c.email)));
    field(&mut p, "Address");
    p.text(&c.address.street).raw("<br>").text(&format!("{}, {} ", c.address.city, c.address.state));
    if c.address.state == "UK" {
        p.text(&c.address.postcode);
    } else {
        p.look_alike(LookAlikeKind::Zip4, &c.address.postcode);
    }
    p.raw("</dd></dl>");
    // A collapsed section, as CRMs fold rarely used fields: its numbers appear on expand.
    p.raw("<details class=\"history\"><summary>").text(&format!("Previous numbers ({})", c.previous.len())).raw("</summary><ul>");
    for (i, (n, f)) in c.previous.iter().enumerate() {
        let text = p.ignored(n, *f, IgnoredPlace::Collapsed);
        let label = if i == 0 { "Old office" } else { "Old mobile" };
        p.raw("<li>").text(&format!("{label}: {text} (until 2023)")).raw("</li>");
    }
    p.raw("</ul></details></section>");

    p.raw("<section class=\"card\"><h2>Deal</h2><dl class=\"fields\">");
    field(&mut p, "Deal ID");
    p.look_alike(LookAlikeKind::Deal, &c.deal_id).raw("</dd>");
    field(&mut p, "Value");
    p.look_alike(LookAlikeKind::Amount, &money_dollars(c.deal_value)).raw("</dd>");
    field(&mut p, "Last contact");
    p.text(&c.last_contact.long()).raw("</dd></dl></section>");

    // Quick edit: inputs, a select and a contenteditable editor a click-to-call must not touch.
    p.raw(&format!("<section class=\"card\"><h2>Quick edit</h2><form class=\"inline-edit\" data-contact-id=\"{}\">", c.id));
    let work = p.ignored(&c.work.0, c.work.1, IgnoredPlace::Input);
    let mobile = p.ignored(&c.mobile.0, c.mobile.1, IgnoredPlace::Input);
    p.raw(&format!(
        "<label>Work phone<input type=\"tel\" name=\"work\" value=\"{}\"></label>\
         <label>Mobile<input type=\"tel\" name=\"mobile\" value=\"{}\"></label><label>Call from<select name=\"caller_id\">",
        esc(&work),
        esc(&mobile)
    ));
    for (i, n) in data.caller_ids.iter().enumerate() {
        let t = p.ignored(n, Format::Paren, IgnoredPlace::Option);
        let label = if i == 0 { "Main line" } else { "NY office" };
        p.raw(&format!("<option value=\"{}\">{label} {}</option>", n.e164(), esc(&t)));
    }
    p.ignored_text(&c.mobile.0, &c.mobile.0.format(Format::Dash), IgnoredPlace::Contenteditable);
    p.raw("</select></label><div class=\"label\">Notes</div><div class=\"notes\" contenteditable=\"true\" role=\"textbox\" aria-multiline=\"true\">")
        .text(&c.notes)
        .raw("</div><div class=\"actions\"><button class=\"btn primary\" type=\"submit\">Save</button>")
        .raw("<span class=\"saved\" hidden>Saved</span></div></form></section>");
    p.raw("</div><div class=\"col wide\">");

    p.raw("<section class=\"card timeline\"><h2>Activity</h2><ol>");
    for a in &c.activities {
        p.raw(&format!("<li class=\"activity kind-{}\"><div class=\"meta\"><time datetime=\"{}\">", a.kind.to_lowercase(), a.date))
            .look_alike(LookAlikeKind::Date, &a.date.us())
            .raw("</time> <span class=\"kind\">")
            .text(a.kind)
            .raw("</span> by ")
            .text(a.by)
            .raw("</div><p>")
            .segs(&a.note, "timeline")
            .raw("</p></li>");
    }
    p.raw("</ol></section></div></div></div>");

    // A data island as SPAs embed: real numbers in a script, not to be marked.
    let mut island = serde_json::Map::new();
    island.insert("id".into(), c.id.clone().into());
    for (label, n) in c.numbers() {
        p.ignored_text(n, &n.e164(), IgnoredPlace::Script);
        island.insert(label.into(), n.e164().into());
    }
    let island = serde_json::Value::Object(island).to_string().replace('<', "\\u003c");
    p.raw(&format!("<script type=\"application/json\" id=\"crm-record\">{island}</script>"));
    foot(&mut p, data);
    let (html, truth) = p.finish();
    Rendered { html, truth, csp: None }
}

/// `/stress`, or with `strict_csp` the same rows as `/stress-csp` under [`STRICT_CSP`]
/// (detection then runs in the service worker; the benchmark compares the two).
fn stress(data: &Mpt, strict_csp: bool) -> Rendered {
    let path = if strict_csp { "/stress-csp" } else { "/stress" };
    let mut p = Page::new(Site::Mpt, path);
    head(&mut p, "All records", false);
    p.raw("<div class=\"toolbar\"><h1>All records</h1><span class=\"count\">")
        .text(&format!("{} records", data.stress.len()))
        .raw("</span></div><div class=\"card flush\"><table class=\"grid dense\"><thead><tr><th>Name</th>")
        .raw("<th>Company</th><th>Phone</th><th>Mobile</th><th>Stage</th></tr></thead><tbody>");
    for r in &data.stress {
        p.contact(Some(&r.id));
        p.raw(&format!("<tr data-contact-id=\"{}\"><td>", r.id))
            .text(&r.name)
            .raw("</td><td>")
            .text(&r.company)
            .raw("</td><td>")
            .tel(&r.phone.0, r.phone.1, "work")
            .raw("</td><td>")
            .phone(&r.mobile.0, r.mobile.1, "mobile")
            .raw(&format!("</td><td><span class=\"{}\">", stage_class(r.stage)))
            .text(r.stage)
            .raw("</span></td></tr>");
    }
    p.raw("</tbody></table></div>");
    foot(&mut p, data);
    let (html, truth) = p.finish();
    Rendered { html, truth, csp: strict_csp.then_some(STRICT_CSP) }
}

fn strict_csp(data: &Mpt) -> Rendered {
    let mut p = Page::new(Site::Mpt, "/strict-csp");
    head(&mut p, "Secure view", false);
    p.raw("<div class=\"toolbar\"><h1>Secure view</h1><span class=\"count\">Content-Security-Policy enforced</span></div>")
        .raw("<div class=\"card flush\"><table class=\"grid\" id=\"contacts\">")
        .raw(LIST_HEAD)
        .raw("<tbody>");
    for c in data.contacts.iter().take(CSP_ROWS) {
        contact_row(&mut p, c);
    }
    p.raw("</tbody></table></div>");
    foot(&mut p, data);
    let (html, truth) = p.finish();
    Rendered { html, truth, csp: Some(STRICT_CSP) }
}

/// Renders the MPT-CRM page at `path` (query already parsed).
pub fn render(data: &Mpt, path: &str, query: &BTreeMap<String, String>) -> Result<Rendered, Error> {
    match path {
        "/contacts" => Ok(contact_list(data, &ListQuery::parse(query)?)),
        "/stress" => Ok(stress(data, false)),
        "/stress-csp" => Ok(stress(data, true)),
        "/strict-csp" => Ok(strict_csp(data)),
        _ => {
            let id = path.strip_prefix("/contacts/").ok_or_else(|| Error::NotFound(path.to_owned()))?;
            let c = data.contacts.iter().find(|c| c.id == id).ok_or_else(|| Error::NotFound(format!("contact {id}")))?;
            Ok(contact_detail(data, c))
        }
    }
}

/// Every page path of MPT-CRM (for the truth index).
pub fn pages(data: &Mpt) -> Vec<String> {
    let mut out = Vec::new();
    let pages = data.contacts.len().div_ceil(PAGE_SIZE);
    for page in 1..=pages {
        out.push(ListQuery { stage: None, page }.path());
    }
    for s in STAGES {
        out.push(ListQuery { stage: Some(s), page: 1 }.path());
    }
    out.extend(data.contacts.iter().map(|c| format!("/contacts/{}", c.id)));
    out.push("/stress".into());
    out.push("/stress-csp".into());
    out.push("/strict-csp".into());
    out
}
