//! Contacts: caller ID for calls (name and company from the tenant's contacts or CRM
//! connector) and the agent's contact search.

use crate::api::{Contact, ContactList};
use crate::error_code::PhoneErrorCode;

use super::command::DialContact;
use super::{encode, Engine, Method, Purpose, Reply};

/// Numbers whose lookup answer is remembered.
const CACHE_MAX: usize = 64;

/// The agent's search.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Search {
    /// The query the results are for.
    pub query: String,
    /// A search is out.
    pub loading: bool,
    /// Matches, best first.
    pub results: Vec<Contact>,
}

/// Contacts bookkeeping.
#[derive(Debug, Default)]
pub struct Contacts {
    cache: Vec<(String, Option<Contact>)>,
    /// The agent's search.
    pub search: Search,
}

impl Engine {
    /// Fills in the active call's contact from the cache or the server.
    pub(crate) fn lookup_caller(&mut self, call_id: String, number: &str) {
        if let Some((_, hit)) = self.contacts.cache.iter().find(|(n, _)| n == number) {
            let hit = hit.clone();
            self.apply_contact(&call_id, hit.as_ref());
            return;
        }
        let path = format!("/api/contacts/lookup?number={}", encode(number));
        self.request(Purpose::Lookup { call_id }, Method::Get, path, None, true);
    }

    pub(crate) fn on_lookup(&mut self, call_id: &str, reply: Reply) {
        if !reply.ok() {
            return; // caller ID is a nicety: the call goes on without a name
        }
        let Some(list) = reply.json::<ContactList>() else {
            return;
        };
        let hit = list.items.into_iter().next();
        let number = self.calls.active.as_ref().filter(|c| c.id == call_id).map(|c| c.number.clone());
        if let Some(n) = number {
            self.contacts.cache.retain(|(k, _)| *k != n);
            self.contacts.cache.push((n, hit.clone()));
            if self.contacts.cache.len() > CACHE_MAX {
                self.contacts.cache.remove(0);
            }
        }
        self.apply_contact(call_id, hit.as_ref());
    }

    fn apply_contact(&mut self, call_id: &str, hit: Option<&Contact>) {
        let Some(hit) = hit else { return };
        let Some(call) = self.calls.active.as_mut().filter(|c| c.id == call_id) else {
            return;
        };
        if call.contact.name.is_none() {
            let crm = call.contact.crm.take();
            let id = call.contact.id.take();
            call.contact = DialContact { id: id.or(Some(hit.id.clone())), crm: crm.or(Some(hit.source.clone())), ..DialContact::from(hit) };
            self.dirty_view();
        } else if call.contact.company.is_none() && hit.company.is_some() {
            call.contact.company = hit.company.clone();
            self.dirty_view();
        }
    }

    pub(crate) fn search_contacts(&mut self, query: String) -> Result<(), PhoneErrorCode> {
        if !self.session.signed_in() {
            return Err(PhoneErrorCode::NotSignedIn);
        }
        let q = query.trim().to_owned();
        self.dirty_view();
        if q.is_empty() {
            self.contacts.search = Search::default();
            return Ok(());
        }
        self.contacts.search.query = q.clone();
        self.contacts.search.loading = true;
        let path = format!("/api/contacts/search?q={}", encode(&q));
        self.request(Purpose::Search { query: q }, Method::Get, path, None, true);
        Ok(())
    }

    pub(crate) fn on_search(&mut self, query: &str, reply: Reply) {
        if self.contacts.search.query != query {
            return; // an older query answered late
        }
        self.contacts.search.loading = false;
        self.dirty_view();
        match reply.json::<ContactList>().filter(|_| reply.ok()) {
            Some(list) => self.contacts.search.results = list.items,
            None => {
                self.contacts.search.results.clear();
                self.fail(reply.code(), None);
            }
        }
    }

    pub(crate) fn set_contact(&mut self, contact: DialContact) -> Result<(), PhoneErrorCode> {
        let call = self.calls.active.as_mut().ok_or(PhoneErrorCode::NoCall)?;
        call.contact = contact;
        self.dirty_store();
        Ok(())
    }
}
