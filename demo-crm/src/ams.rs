//! AMS-APP-CRM (origin 2), an insurance agency: clients, policies, renewals.

use serde::Serialize;

use crate::data::{money_cents, money_dollars, Ams, Client, Policy};
use crate::error::Error;
use crate::page::{esc, LookAlikeKind, Page, Site};
use crate::phone::Format;
use crate::Rendered;

/// Rows on `/renewals` (the policies expiring soonest).
pub const RENEWAL_ROWS: usize = 40;

fn head(p: &mut Page, data: &Ams, title: &str, script: Option<&str>) {
    p.raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
        .text(title)
        .raw(" — AMS-APP-CRM</title><link rel=\"icon\" href=\"/static/favicon-ams.svg\">")
        .raw("<link rel=\"stylesheet\" href=\"/static/ams.css\">");
    if let Some(s) = script {
        p.raw(&format!("<script src=\"/static/{s}\" defer></script>"));
    }
    p.contact(None);
    p.raw(
        "</head><body class=\"ams\"><aside class=\"sidebar\"><div class=\"agency\">Harbor &amp; Pine<small>Insurance Agency</small></div>",
    )
    .raw("<nav><a href=\"/clients\">Clients</a><a href=\"/renewals\">Renewals</a></nav>")
    .raw("<div class=\"mainline\">Main line<br>")
    .phone(&data.main_line, Format::Paren, "agency")
    .raw("</div></aside><div class=\"content\"><header class=\"appbar\"><span class=\"app\">AMS-APP-CRM</span>")
    .raw("<span class=\"user\">Logged in as Rosa Delgado</span></header><main>");
}

fn foot(p: &mut Page) {
    p.raw("</main></div></body></html>\n");
}

fn client_card(p: &mut Page, data: &Ams, c: &Client) {
    p.contact(Some(&c.id));
    p.raw(&format!("<article class=\"client-card\" data-contact-id=\"{}\"><header><h2>", c.id))
        .text(&c.name)
        .raw(&format!("</h2><span class=\"tag {}\">", c.kind.to_lowercase()))
        .text(c.kind)
        .raw("</span></header><dl><dt>Phone</dt><dd>")
        .tel(&c.primary.0, c.primary.1, "primary")
        .raw("</dd><dt>Cell</dt><dd>")
        .phone(&c.cell.0, c.cell.1, "cell")
        .raw("</dd><dt>Email</dt><dd>")
        .raw(&format!("<a href=\"mailto:{0}\">{0}</a>", esc(&c.email)))
        .raw("</dd><dt>City</dt><dd>")
        .text(&format!("{}, {}", c.address.city, c.address.state))
        .raw("</dd><dt>Account</dt><dd>")
        .look_alike(LookAlikeKind::Account, &c.account)
        .raw("</dd><dt>Producer</dt><dd>")
        .text(data.agents.get(c.agent).map_or("", |a| a.name))
        .raw("</dd></dl><footer><span class=\"since\">")
        .text(&format!("Client since {}", c.since))
        .raw("</span><ul class=\"policies\">");
    for pol in data.policies.iter().filter(|pol| pol.client == idx_of(data, c)) {
        p.raw(&format!("<li><a href=\"/policies/{}\">", pol.id)).look_alike(LookAlikeKind::Policy, &pol.number).raw("</a></li>");
    }
    p.raw("</ul></footer></article>");
}

fn idx_of(data: &Ams, c: &Client) -> usize {
    data.clients.iter().position(|x| x.id == c.id).unwrap_or(usize::MAX)
}

fn clients(data: &Ams) -> Rendered {
    let mut p = Page::new(Site::Ams, "/clients");
    head(&mut p, data, "Clients", Some("ams.js"));
    p.raw("<div class=\"pagehead\"><h1>Clients</h1><input class=\"filter\" type=\"search\" placeholder=\"Filter clients\" aria-label=\"Filter clients\">")
        .raw("<span class=\"count\">")
        .text(&format!("{} clients", data.clients.len()))
        .raw("</span></div><div class=\"cards\">");
    for c in &data.clients {
        client_card(&mut p, data, c);
    }
    p.raw("</div>");
    foot(&mut p);
    let (html, truth) = p.finish();
    Rendered { html, truth, csp: None }
}

fn row(p: &mut Page, label: &str) {
    p.raw("<tr><th>").text(label).raw("</th><td>");
}

fn policy(data: &Ams, pol: &Policy) -> Result<Rendered, Error> {
    let client = data.clients.get(pol.client).ok_or_else(|| Error::NotFound(format!("client of {}", pol.id)))?;
    let carrier = data.carriers.get(pol.carrier).ok_or_else(|| Error::NotFound(format!("carrier of {}", pol.id)))?;
    let agent = data.agents.get(client.agent).ok_or_else(|| Error::NotFound(format!("agent of {}", pol.id)))?;
    let mut p = Page::new(Site::Ams, &format!("/policies/{}", pol.id));
    head(&mut p, data, &format!("Policy {}", pol.number), None);
    p.contact(Some(&client.id));
    p.raw(&format!("<div class=\"pagehead policy-head\" data-contact-id=\"{}\"><div><h1>", client.id))
        .look_alike(LookAlikeKind::Policy, &pol.number)
        .raw("</h1><p class=\"sub\">")
        .text(pol.line)
        .raw(" · ")
        .text(carrier.name)
        .raw("</p></div><span class=\"status active\">Active</span></div><div class=\"grid2\">");

    p.raw("<section class=\"panel\"><h2>Policy</h2><table class=\"kv\">");
    row(&mut p, "Policy number");
    p.look_alike(LookAlikeKind::Policy, &pol.number).raw("</td></tr>");
    row(&mut p, "Term");
    p.look_alike(LookAlikeKind::Date, &pol.effective.us()).raw(" – ").look_alike(LookAlikeKind::Date, &pol.expires.us()).raw("</td></tr>");
    row(&mut p, "Annual premium");
    p.look_alike(LookAlikeKind::Amount, &money_cents(pol.premium_cents)).raw("</td></tr>");
    row(&mut p, "Limit");
    p.look_alike(LookAlikeKind::Amount, &money_dollars(pol.limit)).raw("</td></tr>");
    if let Some(vin) = &pol.vin {
        row(&mut p, "Vehicle");
        p.look_alike(LookAlikeKind::Vin, &format!("VIN {vin}")).raw("</td></tr>");
    }
    if let Some(loan) = &pol.loan {
        row(&mut p, "Mortgagee");
        p.text("First Harbor Bank ISAOA, ").look_alike(LookAlikeKind::Loan, loan).raw("</td></tr>");
    }
    p.raw("</table></section>");

    p.raw(&format!("<section class=\"panel\" data-contact-id=\"{}\"><h2>Named insured</h2><table class=\"kv\">", client.id));
    row(&mut p, "Insured");
    p.text(&client.name).raw("</td></tr>");
    row(&mut p, "Phone");
    p.tel(&client.primary.0, client.primary.1, "primary").raw("</td></tr>");
    row(&mut p, "Cell");
    p.phone(&client.cell.0, client.cell.1, "cell").raw("</td></tr>");
    row(&mut p, "Mailing address");
    p.text(&client.address.street)
        .raw("<br>")
        .text(&format!("{}, {} ", client.address.city, client.address.state))
        .look_alike(LookAlikeKind::Zip4, &client.address.postcode)
        .raw("</td></tr>");
    p.raw("</table></section>");

    p.contact(None);
    p.raw("<section class=\"panel\"><h2>Producer</h2><table class=\"kv\">");
    row(&mut p, "Agent");
    p.text(agent.name).raw("</td></tr>");
    row(&mut p, "Direct");
    p.phone(&agent.direct, Format::Dot, "agent").raw("</td></tr>");
    row(&mut p, "Office");
    p.phone_ext(&data.main_line, Format::Paren, &agent.ext, "agent").raw("</td></tr>");
    p.raw("</table></section>");

    p.raw("<section class=\"panel\"><h2>Carrier</h2><table class=\"kv\">");
    row(&mut p, "Company");
    p.text(carrier.name).raw(" (").look_alike(LookAlikeKind::Reference, &format!("NAIC {}", carrier.naic)).raw(")</td></tr>");
    row(&mut p, "24/7 claims");
    p.phone(&carrier.claims, Format::LeadingOne, "carrier").raw("</td></tr>");
    if let Some(claim) = &pol.claim {
        row(&mut p, "Open claim");
        p.look_alike(LookAlikeKind::Claim, claim)
            .raw(" · reported ")
            .look_alike(LookAlikeKind::Date, &pol.effective.plus_days(40).us())
            .raw("</td></tr>");
    }
    p.raw("</table></section></div>");

    p.raw("<section class=\"panel\"><h2>Notes</h2><p class=\"note\">")
        .text("Insured asked that billing questions go to ")
        .phone(&client.cell.0, Format::Dash, "note")
        .text(". Carrier claims desk: ")
        .phone(&carrier.claims, Format::Paren, "note")
        .text(". Quote ref ")
        .look_alike(LookAlikeKind::Reference, &pol.number.replace('-', ""))
        .text(".")
        .raw("</p></section>");
    foot(&mut p);
    let (html, truth) = p.finish();
    Ok(Rendered { html, truth, csp: None })
}

/// One row of `/renewals.json`.
#[derive(Debug, Serialize)]
pub struct RenewalJson {
    /// The client's contact id.
    pub contact_id: String,
    /// `p-0007`
    pub policy_id: String,
    /// Client name.
    pub client: String,
    /// Policy number as printed.
    pub policy_number: String,
    /// Line of business.
    pub line: String,
    /// Expiration, `04/01/2026`.
    pub expires: String,
    /// Expiration, ISO (for sorting).
    pub expires_iso: String,
    /// Premium as printed.
    pub premium: String,
    /// Premium in cents (for sorting).
    pub premium_cents: u64,
    /// Client phone, E.164.
    pub phone_e164: String,
    /// Client phone as printed.
    pub phone_text: String,
    /// Producer.
    pub agent: String,
}

fn renewal_policies(data: &Ams) -> Vec<&Policy> {
    let mut v: Vec<&Policy> = data.policies.iter().collect();
    v.sort_by(|a, b| a.expires.cmp(&b.expires).then_with(|| a.id.cmp(&b.id)));
    v.truncate(RENEWAL_ROWS);
    v
}

/// `/renewals.json`: the rows `renewals.js` renders (and re-renders every 500 ms).
pub fn renewals_json(data: &Ams) -> Vec<RenewalJson> {
    renewal_policies(data)
        .into_iter()
        .filter_map(|pol| {
            let c = data.clients.get(pol.client)?;
            Some(RenewalJson {
                contact_id: c.id.clone(),
                policy_id: pol.id.clone(),
                client: c.name.clone(),
                policy_number: pol.number.clone(),
                line: pol.line.to_owned(),
                expires: pol.expires.us(),
                expires_iso: pol.expires.to_string(),
                premium: money_cents(pol.premium_cents),
                premium_cents: pol.premium_cents,
                phone_e164: c.primary.0.e164(),
                phone_text: c.primary.0.format(c.primary.1),
                agent: data.agents.get(c.agent).map_or("", |a| a.name).to_owned(),
            })
        })
        .collect()
}

fn renewals(data: &Ams) -> Rendered {
    let mut p = Page::new(Site::Ams, "/renewals");
    head(&mut p, data, "Renewals", Some("renewals.js"));
    p.client_rendered();
    p.raw("<div class=\"pagehead\"><h1>Upcoming renewals</h1><span class=\"count live\">Live</span></div>")
        .raw("<section class=\"panel flush\"><table class=\"list\" id=\"renewals\"><thead><tr>")
        .raw("<th data-sort=\"client\">Client</th><th data-sort=\"policy_number\">Policy</th><th data-sort=\"line\">Line</th>")
        .raw("<th data-sort=\"expires_iso\">Expires</th><th data-sort=\"premium_cents\" class=\"num\">Premium</th>")
        .raw("<th>Phone</th><th data-sort=\"agent\">Producer</th></tr></thead><tbody><tr class=\"loading\"><td colspan=\"7\">Loading…</td></tr></tbody></table></section>");
    for r in renewals_json(data) {
        if let Some(c) = data.clients.iter().find(|c| c.id == r.contact_id) {
            p.contact(Some(&c.id));
            p.expect_rendered(&c.primary.0, c.primary.1, "primary", true);
        }
        p.look_alike_rendered(LookAlikeKind::Policy, &r.policy_number);
    }
    foot(&mut p);
    let (html, truth) = p.finish();
    Rendered { html, truth, csp: None }
}

/// Renders the AMS-APP-CRM page at `path`.
pub fn render(data: &Ams, path: &str) -> Result<Rendered, Error> {
    match path {
        "/clients" => Ok(clients(data)),
        "/renewals" => Ok(renewals(data)),
        _ => {
            let id = path.strip_prefix("/policies/").ok_or_else(|| Error::NotFound(path.to_owned()))?;
            let pol = data.policies.iter().find(|p| p.id == id).ok_or_else(|| Error::NotFound(format!("policy {id}")))?;
            policy(data, pol)
        }
    }
}

/// Every page path of AMS-APP-CRM (for the truth index).
pub fn pages(data: &Ams) -> Vec<String> {
    let mut out = vec!["/clients".to_owned(), "/renewals".to_owned()];
    out.extend(data.policies.iter().map(|p| format!("/policies/{}", p.id)));
    out
}
