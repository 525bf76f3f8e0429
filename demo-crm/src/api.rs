//! The contacts REST API the api-server's CRM connector calls, one layout per CRM.
//!
//! `GET /api/contacts?phone=+1…` (lookup by E.164) or `?q=…` (search), with
//! `Authorization: Bearer demo-crm-token`. MPT-CRM answers JSON:API-style
//! snake_case with E.164 numbers; AMS-APP-CRM answers PascalCase with numbers
//! as printed. See `demo-crm/README.md`.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use serde_json::{json, Value};

use crate::data::{Ams, Client, Contact, Mpt};
use crate::error::Error;
use crate::phone::{parse_e164, PhoneNumber};

/// The one token both demo CRMs accept.
pub const TOKEN: &str = "demo-crm-token";
/// Most records one search returns.
pub const MAX_RESULTS: usize = 25;

/// Checks `Authorization: Bearer demo-crm-token`.
pub fn authorize(headers: &HeaderMap) -> Result<(), Error> {
    let value = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(Error::Unauthorized)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(Error::Unauthorized)?;
    if scheme.eq_ignore_ascii_case("bearer") && token.trim() == TOKEN {
        Ok(())
    } else {
        Err(Error::Unauthorized)
    }
}

/// What the caller asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// An exact number.
    Phone(PhoneNumber),
    /// A free-text search (name, company, email, or 4+ digits of a number).
    Search(String),
}

impl Lookup {
    /// Parses `phone` or `q`. An unencoded `+` arrives as a space; it is accepted.
    pub fn parse(q: &BTreeMap<String, String>) -> Result<Self, Error> {
        if let Some(phone) = q.get("phone") {
            let t = phone.trim();
            let e164 = if t.starts_with('+') { t.to_owned() } else { format!("+{t}") };
            return parse_e164(&e164)
                .map(Lookup::Phone)
                .ok_or_else(|| Error::BadRequest(format!("phone must be E.164 (+ and 8 to 15 digits), got {phone:?}")));
        }
        match q.get("q").map(|s| s.trim()) {
            Some(s) if !s.is_empty() => Ok(Lookup::Search(s.to_lowercase())),
            _ => Err(Error::BadRequest("give ?phone=+E164 or ?q=text".into())),
        }
    }

    fn matches(&self, numbers: &[&PhoneNumber], words: &[&str]) -> bool {
        match self {
            Lookup::Phone(n) => numbers.contains(&n),
            Lookup::Search(s) => {
                let phoneish = s.chars().all(|c| c.is_ascii_digit() || " ()-.+".contains(c));
                let digits: String = s.chars().filter(char::is_ascii_digit).collect();
                if phoneish && digits.len() >= 4 {
                    numbers.iter().any(|n| n.e164().contains(&digits))
                } else {
                    words.iter().any(|w| w.to_lowercase().contains(s.as_str()))
                }
            }
        }
    }
}

fn mpt_record(c: &Contact, base: &str) -> Value {
    let phones: Vec<Value> = c.numbers().iter().map(|(label, n)| json!({ "label": label, "number": n.e164() })).collect();
    json!({
        "id": c.id,
        "type": "contact",
        "attributes": {
            "first_name": c.first,
            "last_name": c.last,
            "title": c.title,
            "company": c.company,
            "email": c.email,
            "stage": c.stage,
            "owner": c.owner,
            "phone_numbers": phones,
        },
        "links": { "self": format!("{base}/contacts/{}", c.id) },
    })
}

/// MPT-CRM's answer: `{"data": [...], "meta": {"total": N}}`.
pub fn mpt_contacts(data: &Mpt, lookup: &Lookup, base: &str) -> Value {
    let hits: Vec<&Contact> = data
        .contacts
        .iter()
        .filter(|c| {
            let nums: Vec<&PhoneNumber> = c.numbers().iter().map(|(_, n)| *n).collect();
            lookup.matches(&nums, &[&c.first, &c.last, &c.name(), &c.company, &c.email])
        })
        .collect();
    let total = hits.len();
    let data: Vec<Value> = hits.into_iter().take(MAX_RESULTS).map(|c| mpt_record(c, base)).collect();
    json!({ "data": data, "meta": { "total": total } })
}

fn ams_record(data: &Ams, idx: usize, c: &Client, base: &str) -> Value {
    let policies: Vec<&str> = data.policies.iter().filter(|p| p.client == idx).map(|p| p.number.as_str()).collect();
    let first_policy = data.policies.iter().find(|p| p.client == idx).map(|p| p.id.as_str());
    json!({
        "ClientID": c.id,
        "ClientName": c.name,
        "ClientType": c.kind,
        "Phones": {
            "Primary": c.primary.0.format(c.primary.1),
            "Cell": c.cell.0.format(c.cell.1),
        },
        "Email": c.email,
        "Producer": data.agents.get(c.agent).map(|a| a.name),
        "Policies": policies,
        "ProfileUrl": match first_policy {
            Some(id) => format!("{base}/policies/{id}"),
            None => format!("{base}/clients"),
        },
    })
}

/// AMS-APP-CRM's answer: `{"Clients": [...], "TotalCount": N}`.
pub fn ams_contacts(data: &Ams, lookup: &Lookup, base: &str) -> Value {
    let hits: Vec<(usize, &Client)> =
        data.clients.iter().enumerate().filter(|(_, c)| lookup.matches(&[&c.primary.0, &c.cell.0], &[&c.name, &c.email])).collect();
    let total = hits.len();
    let clients: Vec<Value> = hits.into_iter().take(MAX_RESULTS).map(|(i, c)| ams_record(data, i, c, base)).collect();
    json!({ "Clients": clients, "TotalCount": total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn q(k: &str, v: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(k.to_owned(), v.to_owned())])
    }

    #[test]
    fn auth() {
        let mut h = HeaderMap::new();
        assert!(authorize(&h).is_err());
        h.insert("authorization", HeaderValue::from_static("Bearer nope"));
        assert!(authorize(&h).is_err());
        h.insert("authorization", HeaderValue::from_static("bearer demo-crm-token"));
        assert!(authorize(&h).is_ok());
    }

    #[test]
    fn parses_lookups() {
        assert_eq!(Lookup::parse(&q("phone", "+14155550123")).ok(), Some(Lookup::Phone(PhoneNumber::nanp(415, 5550123))));
        assert_eq!(Lookup::parse(&q("phone", " 14155550123")).ok(), Some(Lookup::Phone(PhoneNumber::nanp(415, 5550123))));
        assert!(Lookup::parse(&q("phone", "415-555-0123")).is_err());
        assert!(Lookup::parse(&q("q", "  ")).is_err());
        assert!(Lookup::parse(&BTreeMap::new()).is_err());
        assert_eq!(Lookup::parse(&q("q", "Acme")).ok(), Some(Lookup::Search("acme".into())));
    }
}
