//! A local stand-in for the part of Twilio's REST API that provisioning uses
//! ([`crate::rest`]): subaccounts, API keys, TwiML Apps, available and incoming numbers.
//!
//! It serves real HTTP on loopback and behaves like Twilio where our code depends on it:
//! HTTP Basic auth (the main account may act on itself and its subaccounts, a
//! subaccount only on itself; anything else is 401 with Twilio's error JSON, code
//! 20003), form-encoded POSTs, JSON answers in Twilio's snake_case shapes, 404 (code
//! 20404) for unknown resources, and each subaccount gets its own auth token. Every
//! request is recorded as received ([`RecordedRequest`]) so tests can compare what our
//! client sends with what Twilio's official library sends for the same call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::sid::new_sid;
use crate::TwilioError;

/// A request as the stand-in received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path (no query).
    pub path: String,
    /// Query pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    /// Form pairs, decoded, in order.
    pub form: Vec<(String, String)>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
}

#[derive(Debug, Clone)]
struct Account {
    auth_token: String,
    status: String,
    friendly_name: String,
    owner: Option<String>,
}

#[derive(Debug, Clone)]
struct Number {
    account: String,
    phone_number: String,
    voice_application_sid: Option<String>,
}

#[derive(Default)]
struct World {
    accounts: HashMap<String, Account>,
    keys: HashMap<String, (String, String)>,
    apps: HashMap<String, (String, Value)>,
    numbers: HashMap<String, Number>,
    requests: Vec<RecordedRequest>,
    /// Answer every request 503 (Twilio having an outage).
    down: bool,
}

/// The running stand-in.
#[derive(Clone)]
pub struct RestStandIn {
    /// Base URL to give clients (`http://127.0.0.1:PORT`).
    pub base_url: String,
    main_sid: String,
    world: Arc<Mutex<World>>,
}

impl std::fmt::Debug for RestStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestStandIn").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// An account as the stand-in holds it (for assertions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    /// Auth token.
    pub auth_token: String,
    /// `active` / `suspended`.
    pub status: String,
    /// Name.
    pub friendly_name: String,
    /// Parent account, for subaccounts.
    pub owner: Option<String>,
}

/// A number as the stand-in holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberView {
    /// `PN…`.
    pub sid: String,
    /// Owning account.
    pub account: String,
    /// E.164.
    pub phone_number: String,
    /// TwiML App.
    pub voice_application_sid: Option<String>,
}

impl RestStandIn {
    /// Starts serving on `127.0.0.1:0` with a main account `main_sid` / `main_token`.
    /// The server runs until the tokio runtime ends.
    pub async fn start(main_sid: &str, main_token: &str) -> Result<RestStandIn, TwilioError> {
        let mut world = World::default();
        world.accounts.insert(
            main_sid.to_string(),
            Account { auth_token: main_token.to_string(), status: "active".into(), friendly_name: "Main".into(), owner: None },
        );
        let world = Arc::new(Mutex::new(world));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| TwilioError::Http { url: "127.0.0.1:0".into(), reason: e.to_string() })?;
        let addr = listener.local_addr().map_err(|e| TwilioError::Http { url: "127.0.0.1:0".into(), reason: e.to_string() })?;
        let app = axum::Router::new().fallback(handle).with_state(world.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RestStandIn { base_url: format!("http://{addr}"), main_sid: main_sid.to_string(), world })
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.world().requests.clone()
    }

    /// While `down`, every request is recorded and answered 503 (code 20503), as in a
    /// Twilio outage.
    pub fn set_down(&self, down: bool) {
        self.world().down = down;
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.world().requests.clear();
    }

    /// An account's state.
    pub fn account(&self, sid: &str) -> Option<AccountView> {
        self.world().accounts.get(sid).map(|a| AccountView {
            auth_token: a.auth_token.clone(),
            status: a.status.clone(),
            friendly_name: a.friendly_name.clone(),
            owner: a.owner.clone(),
        })
    }

    /// The subaccounts of the main account.
    pub fn subaccounts(&self) -> Vec<String> {
        let w = self.world();
        let mut v: Vec<String> =
            w.accounts.iter().filter(|(_, a)| a.owner.as_deref() == Some(self.main_sid.as_str())).map(|(s, _)| s.clone()).collect();
        v.sort();
        v
    }

    /// The API keys of an account: (SID, secret).
    pub fn keys(&self, account: &str) -> Vec<(String, String)> {
        self.world().keys.iter().filter(|(_, (a, _))| a == account).map(|(s, (_, sec))| (s.clone(), sec.clone())).collect()
    }

    /// The TwiML Apps of an account: (SID, the app's JSON).
    pub fn applications(&self, account: &str) -> Vec<(String, Value)> {
        self.world().apps.iter().filter(|(_, (a, _))| a == account).map(|(s, (_, v))| (s.clone(), v.clone())).collect()
    }

    /// The numbers an account owns.
    pub fn numbers(&self, account: &str) -> Vec<NumberView> {
        self.world()
            .numbers
            .iter()
            .filter(|(_, n)| n.account == account)
            .map(|(s, n)| NumberView {
                sid: s.clone(),
                account: n.account.clone(),
                phone_number: n.phone_number.clone(),
                voice_application_sid: n.voice_application_sid.clone(),
            })
            .collect()
    }

    /// Gives an account a number (as if bought earlier); returns its `PN…` SID.
    pub fn add_number(&self, account: &str, phone_number: &str) -> String {
        let sid = new_sid("PN").unwrap_or_else(|_| format!("PN{phone_number}"));
        self.world()
            .numbers
            .insert(sid.clone(), Number { account: account.into(), phone_number: phone_number.into(), voice_application_sid: None });
        sid
    }
}

fn twilio_error(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16() }))).into_response()
}

fn decode_pairs(s: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(s.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Who the Basic credentials name, if they are right.
fn authenticate(world: &World, headers: &HeaderMap) -> Option<String> {
    use base64::Engine;
    let h = headers.get("authorization")?.to_str().ok()?;
    let b64 = h.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (user, pass) = raw.split_once(':')?;
    let acct = world.accounts.get(user)?;
    let ok: bool = subtle::ConstantTimeEq::ct_eq(acct.auth_token.as_bytes(), pass.as_bytes()).into();
    ok.then(|| user.to_string())
}

fn account_json(sid: &str, a: &Account) -> Value {
    json!({
        "sid": sid, "auth_token": a.auth_token, "status": a.status, "friendly_name": a.friendly_name,
        "owner_account_sid": a.owner.clone().unwrap_or_else(|| sid.to_string()), "type": "Full",
        "uri": format!("/2010-04-01/Accounts/{sid}.json"),
    })
}

fn number_json(sid: &str, n: &Number) -> Value {
    json!({
        "sid": sid, "account_sid": n.account, "phone_number": n.phone_number, "friendly_name": n.phone_number,
        "voice_application_sid": n.voice_application_sid,
        "uri": format!("/2010-04-01/Accounts/{}/IncomingPhoneNumbers/{sid}.json", n.account),
    })
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn handle(State(world): State<Arc<Mutex<World>>>, req: Request) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = decode_pairs(req.uri().query().unwrap_or(""));
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let form = decode_pairs(&String::from_utf8_lossy(&body));
    let mut w = world.lock().unwrap_or_else(|p| p.into_inner());
    w.requests.push(RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        form: form.clone(),
        authorization: headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string),
        content_type: headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string),
    });
    if w.down {
        return twilio_error(StatusCode::SERVICE_UNAVAILABLE, 20503, "Service unavailable");
    }
    let Some(caller) = authenticate(&w, &headers) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["2010-04-01", "Accounts.json"] if method == "POST" => create_subaccount(&mut w, &caller, &form),
        ["2010-04-01", "Accounts", rest @ ..] => route(&mut w, &caller, &method, rest, &query, &form),
        _ => twilio_error(StatusCode::NOT_FOUND, 20404, "The requested resource was not found"),
    }
}

fn route(w: &mut World, caller: &str, method: &str, rest: &[&str], query: &[(String, String)], form: &[(String, String)]) -> Response {
    let not_found = || twilio_error(StatusCode::NOT_FOUND, 20404, "The requested resource was not found");
    let Some(first) = rest.first() else { return not_found() };
    let account = first.trim_end_matches(".json").to_string();
    // May `caller` act on `account`? Itself, or a subaccount it owns.
    let owns = |w: &World, account: &str| account == caller || w.accounts.get(account).and_then(|a| a.owner.as_deref()) == Some(caller);
    if !w.accounts.contains_key(&account) {
        return not_found();
    }
    if !owns(w, &account) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    match (method, rest.len()) {
        // POST /Accounts/{AC}.json: Status / FriendlyName.
        ("POST", 1) if first.ends_with(".json") => {
            let Some(a) = w.accounts.get_mut(&account) else { return not_found() };
            if let Some(s) = field(form, "Status") {
                if !["active", "suspended", "closed"].contains(&s) {
                    return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid Status");
                }
                if a.status == "closed" {
                    return twilio_error(StatusCode::BAD_REQUEST, 20001, "The account is closed");
                }
                a.status = s.to_string();
            }
            if let Some(n) = field(form, "FriendlyName") {
                a.friendly_name = n.to_string();
            }
            let a = a.clone();
            Json(account_json(&account, &a)).into_response()
        }
        ("GET", 1) if first.ends_with(".json") => match w.accounts.get(&account) {
            Some(a) => Json(account_json(&account, a)).into_response(),
            None => not_found(),
        },
        ("POST", 2) if rest[1] == "Keys.json" => {
            let sid = new_sid("SK").unwrap_or_default();
            let secret = new_sid("").unwrap_or_default();
            w.keys.insert(sid.clone(), (account.clone(), secret.clone()));
            (StatusCode::CREATED, Json(json!({ "sid": sid, "secret": secret, "friendly_name": field(form, "FriendlyName") })))
                .into_response()
        }
        ("POST", 2) if rest[1] == "Applications.json" => {
            let sid = new_sid("AP").unwrap_or_default();
            let mut v = json!({ "sid": sid, "account_sid": account });
            for (k, name) in [
                ("FriendlyName", "friendly_name"),
                ("VoiceUrl", "voice_url"),
                ("VoiceMethod", "voice_method"),
                ("StatusCallback", "status_callback"),
                ("StatusCallbackMethod", "status_callback_method"),
            ] {
                v[name] = json!(field(form, k));
            }
            w.apps.insert(sid.clone(), (account.clone(), v.clone()));
            (StatusCode::CREATED, Json(v)).into_response()
        }
        ("GET", 4) if rest[1] == "AvailablePhoneNumbers" && rest[3] == "Local.json" => {
            let area = query.iter().find(|(k, _)| k == "AreaCode").map(|(_, v)| v.clone()).unwrap_or_else(|| "555".into());
            let size = query.iter().find(|(k, _)| k == "PageSize").and_then(|(_, v)| v.parse::<usize>().ok()).unwrap_or(50).min(50);
            let taken: Vec<String> = w.numbers.values().map(|n| n.phone_number.clone()).collect();
            let list: Vec<Value> = (100..1000)
                .map(|i| format!("+1{area}555{i:04}"))
                .filter(|n| !taken.contains(n))
                .take(size)
                .map(|n| json!({ "phone_number": n, "friendly_name": n, "iso_country": rest[2], "capabilities": { "voice": true, "SMS": true, "MMS": false } }))
                .collect();
            Json(json!({
                "available_phone_numbers": list,
                "uri": format!("/2010-04-01/Accounts/{account}/AvailablePhoneNumbers/{}/Local.json", rest[2]),
                "end": list.len().saturating_sub(1), "page": 0, "page_size": size, "start": 0,
                "first_page_uri": null, "next_page_uri": null, "previous_page_uri": null,
            }))
            .into_response()
        }
        ("GET", 2) if rest[1] == "IncomingPhoneNumbers.json" => {
            let size = query.iter().find(|(k, _)| k == "PageSize").and_then(|(_, v)| v.parse::<usize>().ok()).unwrap_or(50).clamp(1, 1000);
            let mut mine: Vec<(&String, &Number)> = w.numbers.iter().filter(|(_, n)| n.account == account).collect();
            mine.sort_by(|a, b| a.1.phone_number.cmp(&b.1.phone_number));
            let list: Vec<Value> = mine.into_iter().take(size).map(|(sid, n)| number_json(sid, n)).collect();
            Json(json!({
                "incoming_phone_numbers": list,
                "uri": format!("/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json"),
                "end": list.len().saturating_sub(1), "page": 0, "page_size": size, "start": 0,
                "first_page_uri": null, "next_page_uri": null, "previous_page_uri": null,
            }))
            .into_response()
        }
        ("POST", 2) if rest[1] == "IncomingPhoneNumbers.json" => {
            let Some(phone) = field(form, "PhoneNumber") else {
                return twilio_error(StatusCode::BAD_REQUEST, 21421, "PhoneNumber is required");
            };
            if w.numbers.values().any(|n| n.phone_number == phone) {
                return twilio_error(StatusCode::BAD_REQUEST, 21422, "PhoneNumber is not available");
            }
            let sid = new_sid("PN").unwrap_or_default();
            let n = Number {
                account: account.clone(),
                phone_number: phone.to_string(),
                voice_application_sid: field(form, "VoiceApplicationSid").map(str::to_string),
            };
            if let Some(app) = &n.voice_application_sid {
                if w.apps.get(app).map(|(a, _)| a != &account).unwrap_or(true) {
                    return twilio_error(StatusCode::BAD_REQUEST, 21606, "VoiceApplicationSid is not an application of this account");
                }
            }
            let v = number_json(&sid, &n);
            w.numbers.insert(sid, n);
            (StatusCode::CREATED, Json(v)).into_response()
        }
        ("POST", 3) if rest[1] == "IncomingPhoneNumbers" => {
            let sid = rest[2].trim_end_matches(".json").to_string();
            let to_account = field(form, "AccountSid").map(str::to_string);
            if let Some(to) = &to_account {
                if !owns(w, to) {
                    return twilio_error(StatusCode::BAD_REQUEST, 20001, "AccountSid is not an account you own");
                }
            }
            let app = field(form, "VoiceApplicationSid").map(str::to_string);
            let Some(n) = w.numbers.get_mut(&sid).filter(|n| n.account == account) else { return not_found() };
            if let Some(to) = to_account {
                n.account = to;
                n.voice_application_sid = None;
            }
            if let Some(app) = app {
                n.voice_application_sid = Some(app);
            }
            let n = n.clone();
            Json(number_json(&sid, &n)).into_response()
        }
        _ => not_found(),
    }
}

/// `POST /2010-04-01/Accounts.json`, handled before [`route`] because it names no account.
fn create_subaccount(w: &mut World, caller: &str, form: &[(String, String)]) -> Response {
    let sid = new_sid("AC").unwrap_or_default();
    let token = new_sid("").unwrap_or_default();
    let a = Account {
        auth_token: token.to_lowercase(),
        status: "active".into(),
        friendly_name: field(form, "FriendlyName").unwrap_or("Subaccount").to_string(),
        owner: Some(caller.to_string()),
    };
    let v = account_json(&sid, &a);
    w.accounts.insert(sid, a);
    (StatusCode::CREATED, Json(v)).into_response()
}
