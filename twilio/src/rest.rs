//! Twilio's REST API, the part customer provisioning needs: subaccounts (create,
//! suspend, reactivate), API keys, TwiML Apps and phone numbers.
//!
//! Requests are built as plain data ([`RestRequest`]: method, path, query, form), so the
//! exact shape can be compared with what Twilio's official library sends for the same
//! call (`tests/rest_reference.rs` drives npm `twilio` against [`crate::rest_standin`]);
//! [`RestClient`] only sends them: form-encoded, HTTP Basic auth (account SID + auth
//! token, or API key SID + secret), JSON answers, Twilio's error JSON turned into
//! [`TwilioError::Api`].

use serde::Deserialize;

use crate::TwilioError;

/// Where Twilio's REST API lives.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";

/// A subaccount's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Usable.
    Active,
    /// Suspended: Twilio refuses its calls until reactivated.
    Suspended,
    /// Closed for good (its numbers are released): only for a subaccount whose
    /// provisioning failed half-way, so retries do not pile up live subaccounts.
    Closed,
}

impl AccountStatus {
    /// Twilio's value.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Closed => "closed",
        }
    }
}

/// One REST request, before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path from the API base, e.g. `/2010-04-01/Accounts.json`.
    pub path: String,
    /// Query parameters (GET).
    pub query: Vec<(String, String)>,
    /// Form fields (POST), in the order they are sent.
    pub form: Vec<(String, String)>,
}

/// What a new TwiML App is set up with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    /// `FriendlyName`.
    pub friendly_name: String,
    /// `VoiceUrl`: our `/twilio/voice`.
    pub voice_url: String,
    /// `StatusCallback`: our `/twilio/status`.
    pub status_callback: String,
}

fn account_path(account_sid: &str, rest: &str) -> String {
    format!("/2010-04-01/Accounts/{account_sid}{rest}")
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

impl RestRequest {
    fn post(path: String, form: Vec<(String, String)>) -> Self {
        RestRequest { method: "POST", path, query: Vec::new(), form }
    }

    /// Creates a subaccount of the authenticated (main) account.
    pub fn create_subaccount(friendly_name: &str) -> Self {
        Self::post("/2010-04-01/Accounts.json".into(), pairs(&[("FriendlyName", friendly_name)]))
    }

    /// Suspends or reactivates an account.
    pub fn set_account_status(account_sid: &str, status: AccountStatus) -> Self {
        Self::post(account_path(account_sid, ".json"), pairs(&[("Status", status.as_str())]))
    }

    /// Creates a standard API key in an account (signs the browsers' access tokens).
    pub fn create_api_key(account_sid: &str, friendly_name: &str) -> Self {
        Self::post(account_path(account_sid, "/Keys.json"), pairs(&[("FriendlyName", friendly_name)]))
    }

    /// Creates a TwiML App whose voice URL and status callback are ours (both POST).
    pub fn create_application(account_sid: &str, app: &NewApplication) -> Self {
        Self::post(
            account_path(account_sid, "/Applications.json"),
            pairs(&[
                ("FriendlyName", &app.friendly_name),
                ("VoiceUrl", &app.voice_url),
                ("VoiceMethod", "POST"),
                ("StatusCallback", &app.status_callback),
                ("StatusCallbackMethod", "POST"),
            ]),
        )
    }

    /// Lists local numbers for sale in `country` (ISO alpha-2), optionally in an area code.
    pub fn available_local_numbers(account_sid: &str, country: &str, area_code: Option<&str>, page_size: u32) -> Self {
        let mut query = Vec::new();
        if let Some(a) = area_code {
            query.push(("AreaCode".to_string(), a.to_string()));
        }
        query.push(("PageSize".to_string(), page_size.to_string()));
        RestRequest {
            method: "GET",
            path: account_path(account_sid, &format!("/AvailablePhoneNumbers/{country}/Local.json")),
            query,
            form: Vec::new(),
        }
    }

    /// Reads an account (the admin's "verify": the credentials work and the account is active).
    pub fn fetch_account(account_sid: &str) -> Self {
        RestRequest { method: "GET", path: account_path(account_sid, ".json"), query: Vec::new(), form: Vec::new() }
    }

    /// Lists the numbers an account owns (first page of `page_size`).
    pub fn incoming_numbers(account_sid: &str, page_size: u32) -> Self {
        RestRequest {
            method: "GET",
            path: account_path(account_sid, "/IncomingPhoneNumbers.json"),
            query: vec![("PageSize".to_string(), page_size.to_string())],
            form: Vec::new(),
        }
    }

    /// Buys a number into an account, its calls going to a TwiML App.
    pub fn buy_number(account_sid: &str, phone_number: &str, voice_application_sid: &str) -> Self {
        Self::post(
            account_path(account_sid, "/IncomingPhoneNumbers.json"),
            pairs(&[("PhoneNumber", phone_number), ("VoiceApplicationSid", voice_application_sid)]),
        )
    }

    /// Moves a number the main account owns into a subaccount.
    pub fn transfer_number(owner_account_sid: &str, number_sid: &str, to_account_sid: &str) -> Self {
        Self::post(
            account_path(owner_account_sid, &format!("/IncomingPhoneNumbers/{number_sid}.json")),
            pairs(&[("AccountSid", to_account_sid)]),
        )
    }

    /// Points a number's calls at a TwiML App.
    pub fn set_number_application(account_sid: &str, number_sid: &str, voice_application_sid: &str) -> Self {
        Self::post(
            account_path(account_sid, &format!("/IncomingPhoneNumbers/{number_sid}.json")),
            pairs(&[("VoiceApplicationSid", voice_application_sid)]),
        )
    }

    /// `GET …/Recordings/{RE…}.mp3`: a recording's audio. The server fetches it with the
    /// account's credentials and streams it to an authorised agent; a browser never gets a
    /// Twilio URL (recordings need HTTP Basic auth when the account enforces it).
    pub fn recording_media(account_sid: &str, recording_sid: &str) -> Self {
        RestRequest {
            method: "GET",
            path: account_path(account_sid, &format!("/Recordings/{recording_sid}.mp3")),
            query: Vec::new(),
            form: Vec::new(),
        }
    }

    /// The form body (`application/x-www-form-urlencoded`).
    pub fn body(&self) -> String {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.form).finish()
    }

    /// The full URL from an API base (query included).
    pub fn url(&self, base: &str) -> String {
        let mut url = format!("{}{}", base.trim_end_matches('/'), self.path);
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.query).finish());
        }
        url
    }
}

/// An account as Twilio returns it (the fields we use).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Account {
    /// `AC…`.
    pub sid: String,
    /// Its own auth token: Twilio signs the subaccount's webhooks with it.
    pub auth_token: String,
    /// `active`, `suspended` or `closed`.
    pub status: String,
    /// Name.
    pub friendly_name: String,
}

/// A new API key (the secret is only ever returned here).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ApiKey {
    /// `SK…`.
    pub sid: String,
    /// Secret.
    pub secret: String,
}

/// A TwiML App.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Application {
    /// `AP…`.
    pub sid: String,
    /// Voice URL.
    pub voice_url: Option<String>,
}

/// A number for sale.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct AvailableNumber {
    /// E.164.
    pub phone_number: String,
}

#[derive(Deserialize)]
struct AvailableList {
    available_phone_numbers: Vec<AvailableNumber>,
}

/// A number owned by an account.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct IncomingNumber {
    /// `PN…`.
    pub sid: String,
    /// E.164.
    pub phone_number: String,
    /// Owning account.
    pub account_sid: String,
    /// TwiML App its calls go to.
    pub voice_application_sid: Option<String>,
}

/// An account as read back (no secret kept).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct AccountSummary {
    /// `AC…`.
    pub sid: String,
    /// `active`, `suspended` or `closed`.
    pub status: String,
    /// Name.
    pub friendly_name: String,
}

#[derive(Deserialize)]
struct IncomingList {
    incoming_phone_numbers: Vec<IncomingNumber>,
}

#[derive(Deserialize)]
struct ErrorJson {
    code: Option<i64>,
    message: Option<String>,
}

/// Sends [`RestRequest`]s to Twilio (or a stand-in) as one set of credentials.
#[derive(Clone)]
pub struct RestClient {
    base: String,
    username: String,
    password: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient").field("base", &self.base).field("username", &self.username).finish_non_exhaustive()
    }
}

impl RestClient {
    /// A client for `base` (e.g. [`DEFAULT_API_BASE`]) with Basic credentials
    /// (the main account's SID and auth token to provision subaccounts).
    pub fn new(base: &str, username: &str, password: &str) -> Result<Self, TwilioError> {
        if username.is_empty() || password.is_empty() {
            return Err(TwilioError::InvalidInput { field: "credentials", reason: "account SID and auth token are required".into() });
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| TwilioError::Http { url: base.to_string(), reason: e.to_string() })?;
        Ok(RestClient { base: base.trim_end_matches('/').to_string(), username: username.into(), password: password.into(), http })
    }

    /// Sends a request; returns the JSON answer, or [`TwilioError::Api`] for a non-2xx.
    pub async fn send(&self, req: &RestRequest) -> Result<serde_json::Value, TwilioError> {
        let url = req.url(&self.base);
        let http_err = |reason: String| TwilioError::Http { url: url.clone(), reason };
        let mut b = match req.method {
            "GET" => self.http.get(&url),
            _ => self.http.post(&url).header("Content-Type", "application/x-www-form-urlencoded").body(req.body()),
        };
        b = b.basic_auth(&self.username, Some(&self.password)).header("Accept", "application/json");
        let resp = b.send().await.map_err(|e| http_err(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| http_err(e.to_string()))?;
        if !(200..300).contains(&status) {
            let e: Option<ErrorJson> = serde_json::from_slice(&bytes).ok();
            return Err(TwilioError::Api {
                status,
                code: e.as_ref().and_then(|e| e.code),
                message: e.and_then(|e| e.message).unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect()),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| http_err(format!("invalid JSON answer: {e}")))
    }

    /// Sends a request whose answer is media (a recording): `(content type, bytes)`, at
    /// most `max_bytes`; [`TwilioError::Api`] for a non-2xx.
    pub async fn fetch_media(&self, req: &RestRequest, max_bytes: usize) -> Result<(String, Vec<u8>), TwilioError> {
        let url = req.url(&self.base);
        let http_err = |reason: String| TwilioError::Http { url: url.clone(), reason };
        let resp =
            self.http.get(&url).basic_auth(&self.username, Some(&self.password)).send().await.map_err(|e| http_err(e.to_string()))?;
        let status = resp.status().as_u16();
        let content_type =
            resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream").to_string();
        if resp.content_length().is_some_and(|n| n > max_bytes as u64) {
            return Err(http_err(format!("answer larger than {max_bytes} bytes")));
        }
        let bytes = resp.bytes().await.map_err(|e| http_err(e.to_string()))?;
        if !(200..300).contains(&status) {
            let e: Option<ErrorJson> = serde_json::from_slice(&bytes).ok();
            return Err(TwilioError::Api {
                status,
                code: e.as_ref().and_then(|e| e.code),
                message: e.and_then(|e| e.message).unwrap_or_else(|| format!("HTTP {status}")),
            });
        }
        if bytes.len() > max_bytes {
            return Err(http_err(format!("answer larger than {max_bytes} bytes")));
        }
        Ok((content_type, bytes.to_vec()))
    }

    async fn send_as<T: serde::de::DeserializeOwned>(&self, req: &RestRequest) -> Result<T, TwilioError> {
        let v = self.send(req).await?;
        serde_json::from_value(v).map_err(|e| TwilioError::Http { url: req.url(&self.base), reason: format!("unexpected answer: {e}") })
    }

    /// See [`RestRequest::create_subaccount`].
    pub async fn create_subaccount(&self, friendly_name: &str) -> Result<Account, TwilioError> {
        self.send_as(&RestRequest::create_subaccount(friendly_name)).await
    }

    /// See [`RestRequest::set_account_status`].
    pub async fn set_account_status(&self, account_sid: &str, status: AccountStatus) -> Result<Account, TwilioError> {
        self.send_as(&RestRequest::set_account_status(account_sid, status)).await
    }

    /// See [`RestRequest::create_api_key`].
    pub async fn create_api_key(&self, account_sid: &str, friendly_name: &str) -> Result<ApiKey, TwilioError> {
        self.send_as(&RestRequest::create_api_key(account_sid, friendly_name)).await
    }

    /// See [`RestRequest::create_application`].
    pub async fn create_application(&self, account_sid: &str, app: &NewApplication) -> Result<Application, TwilioError> {
        self.send_as(&RestRequest::create_application(account_sid, app)).await
    }

    /// See [`RestRequest::available_local_numbers`].
    pub async fn available_local_numbers(
        &self,
        account_sid: &str,
        country: &str,
        area_code: Option<&str>,
        page_size: u32,
    ) -> Result<Vec<AvailableNumber>, TwilioError> {
        let list: AvailableList = self.send_as(&RestRequest::available_local_numbers(account_sid, country, area_code, page_size)).await?;
        Ok(list.available_phone_numbers)
    }

    /// See [`RestRequest::fetch_account`].
    pub async fn fetch_account(&self, account_sid: &str) -> Result<AccountSummary, TwilioError> {
        self.send_as(&RestRequest::fetch_account(account_sid)).await
    }

    /// See [`RestRequest::incoming_numbers`].
    pub async fn incoming_numbers(&self, account_sid: &str, page_size: u32) -> Result<Vec<IncomingNumber>, TwilioError> {
        let list: IncomingList = self.send_as(&RestRequest::incoming_numbers(account_sid, page_size)).await?;
        Ok(list.incoming_phone_numbers)
    }

    /// See [`RestRequest::buy_number`].
    pub async fn buy_number(
        &self,
        account_sid: &str,
        phone_number: &str,
        voice_application_sid: &str,
    ) -> Result<IncomingNumber, TwilioError> {
        self.send_as(&RestRequest::buy_number(account_sid, phone_number, voice_application_sid)).await
    }

    /// See [`RestRequest::transfer_number`].
    pub async fn transfer_number(
        &self,
        owner_account_sid: &str,
        number_sid: &str,
        to_account_sid: &str,
    ) -> Result<IncomingNumber, TwilioError> {
        self.send_as(&RestRequest::transfer_number(owner_account_sid, number_sid, to_account_sid)).await
    }

    /// See [`RestRequest::set_number_application`].
    pub async fn set_number_application(
        &self,
        account_sid: &str,
        number_sid: &str,
        voice_application_sid: &str,
    ) -> Result<IncomingNumber, TwilioError> {
        self.send_as(&RestRequest::set_number_application(account_sid, number_sid, voice_application_sid)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_paths_forms_and_queries() {
        let r = RestRequest::create_application(
            "AC1",
            &NewApplication {
                friendly_name: "MPT Phone".into(),
                voice_url: "https://x/twilio/voice".into(),
                status_callback: "https://x/twilio/status".into(),
            },
        );
        assert_eq!(r.path, "/2010-04-01/Accounts/AC1/Applications.json");
        assert_eq!(r.body(), "FriendlyName=MPT+Phone&VoiceUrl=https%3A%2F%2Fx%2Ftwilio%2Fvoice&VoiceMethod=POST&StatusCallback=https%3A%2F%2Fx%2Ftwilio%2Fstatus&StatusCallbackMethod=POST");
        let q = RestRequest::available_local_numbers("AC1", "US", Some("415"), 1);
        assert_eq!(
            q.url("https://api.twilio.com/"),
            "https://api.twilio.com/2010-04-01/Accounts/AC1/AvailablePhoneNumbers/US/Local.json?AreaCode=415&PageSize=1"
        );
        assert_eq!(
            RestRequest::set_account_status("AC2", AccountStatus::Suspended).form,
            vec![("Status".to_string(), "suspended".to_string())]
        );
    }

    #[test]
    fn refuses_empty_credentials() {
        assert!(RestClient::new(DEFAULT_API_BASE, "", "x").is_err());
    }
}
