//! The web app's cookie session (`routes/app_session.rs`): the refresh token only ever in
//! an `HttpOnly`, `SameSite=Strict`, path-scoped cookie (`Secure` on https), usable from the
//! server's own origin only; a reload restores the session from it; sign-out, a disabled
//! agent and a reused token end it. And "Sign in with SSO": the organisation's sign-in
//! page, then the CRM's JWT exchanged for the same cookie session.

use crate::both_backends;
use crate::helpers::{spawn_app_with, TestApp};
use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const AGENT: (&str, &str) = ("agent@demo.mpt-phone.test", "demo-agent-pass");

struct Answer {
    status: StatusCode,
    set_cookie: Option<String>,
    body: Value,
}

/// A request to the app-session endpoints with `origin` (None: no Origin header) and the
/// cookie `cookie` (the `name=value` pair).
async fn send(app: &TestApp, path: &str, origin: Option<&str>, cookie: Option<&str>, body: Option<Value>) -> Answer {
    let mut req = app.http.request(Method::POST, format!("{}{path}", app.url));
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let set_cookie = resp.headers().get("set-cookie").map(|v| v.to_str().expect("ascii").to_string());
    let text = resp.text().await.expect("body");
    Answer { status, set_cookie, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
}

/// The `name=value` part of a `Set-Cookie`.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().expect("pair").trim().to_string()
}

fn login_body() -> Value {
    json!({"email": AGENT.0, "password": AGENT.1})
}

async fn cookie_session_survives_a_reload_and_page_script_never_sees_the_refresh_token(app: &TestApp) {
    let origin = app.url.as_str();
    // Another origin (a CRM on another port is "same-site" for cookies), or none: refused
    // before the password is even checked.
    for bad in [Some("http://127.0.0.1:1"), Some("https://evil.example"), None] {
        let a = send(app, "/api/app/session/login", bad, None, Some(login_body())).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{bad:?}: {}", a.body);
        assert!(a.set_cookie.is_none());
    }
    let a = send(app, "/api/app/session/login", Some(origin), None, Some(login_body())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["refresh_token"], "", "the refresh token is never in a body page script reads");
    let access = a.body["access_token"].as_str().expect("access token").to_string();
    let set = a.set_cookie.expect("set-cookie");
    assert!(set.starts_with("mpt_app_session=rt_"), "{set}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/api/app/session", "Max-Age="] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(!set.contains("Secure"), "plain http (loopback): no Secure, or the browser would drop it: {set}");
    let (status, me) = app.get("/api/me", &access).await;
    assert_eq!((status, me["email"].as_str()), (StatusCode::OK, Some(AGENT.0)));

    // A reload: the page has nothing but the cookie (among the site's others: CRMs on
    // another port of the same host share the browser's cookie jar with us).
    let cookie = pair(&set);
    let jar = format!("theme=dark; crm_sid=a=b==; {cookie}; empty=");
    let r = send(app, "/api/app/session/refresh", Some(origin), Some(&jar), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["refresh_token"], "");
    assert_eq!(r.body["agent"]["email"], AGENT.0);
    let next = pair(&r.set_cookie.expect("rotated cookie"));
    assert_ne!(next, cookie, "rotated");
    let (status, _) = app.get("/api/me", r.body["access_token"].as_str().expect("access")).await;
    assert_eq!(status, StatusCode::OK);
    // The cookie alone from another origin: refused, and the session is untouched.
    let x = send(app, "/api/app/session/refresh", Some("http://localhost:1"), Some(&next), None).await;
    assert_eq!(x.status, StatusCode::FORBIDDEN);
    // No cookie: no session to restore (a signed-out browser's first load), and no error.
    let none = send(app, "/api/app/session/refresh", Some(origin), None, None).await;
    assert_eq!((none.status, none.set_cookie), (StatusCode::NO_CONTENT, None));

    // Sign out: the family ends, the cookie is deleted, the last cookie opens nothing.
    let out = send(app, "/api/app/session/logout", Some(origin), Some(&next), None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(
        out.set_cookie.as_deref().is_some_and(|c| c.starts_with("mpt_app_session=;") && c.contains("Max-Age=0")),
        "{:?}",
        out.set_cookie
    );
    let gone = send(app, "/api/app/session/refresh", Some(origin), Some(&next), None).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
    assert!(gone.set_cookie.as_deref().is_some_and(|c| c.contains("Max-Age=0")), "a refused cookie is deleted: {:?}", gone.set_cookie);
    let (status, _) = app.get("/api/me", r.body["access_token"].as_str().expect("access")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session's access tokens end with it");
}

async fn a_disabled_agents_cookie_restores_nothing(app: &TestApp) {
    let origin = app.url.as_str();
    let admin = app.demo_admin().await;
    let (status, body) = app
        .post(
            "/api/admin/agents",
            Some(&admin.access_token),
            &json!({"email": "cookie@demo.mpt-phone.test", "name": "Cookie", "password": "cookie-password-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().expect("id").to_string();
    let a = send(
        app,
        "/api/app/session/login",
        Some(origin),
        None,
        Some(json!({"email": "cookie@demo.mpt-phone.test", "password": "cookie-password-1"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let cookie = pair(&a.set_cookie.expect("cookie"));
    let (status, _) = app.post(&format!("/api/admin/agents/{id}/disable"), Some(&admin.access_token), &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let r = send(app, "/api/app/session/refresh", Some(origin), Some(&cookie), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}

async fn sso_sign_in_goes_through_the_organisations_page_and_ends_in_a_cookie_session(app: &TestApp) {
    let origin = app.url.as_str();
    let admin = app.demo_admin().await;
    let secret = "crm-shared-secret-0123456789";
    let sso = |login_url: &str| json!({"sso": {"issuer": "https://crm.example", "audience": "mpt-phone", "hs256_secret": secret, "login_url": login_url}, "provision": true});
    // Not set up yet: the same answer as an organisation that does not exist.
    let start = |tenant: &'static str| {
        let url = format!("{}/api/app/sso?tenant={tenant}", app.url);
        async move { app.http.get(url).send().await.expect("get") }
    };
    let unset = start("demo").await;
    assert_eq!(unset.status(), StatusCode::FORBIDDEN);
    let unset: Value = unset.json().await.expect("json");
    assert_eq!(start("nope").await.json::<Value>().await.expect("json"), unset);
    // A sign-in page that is not https (or loopback http), or has a fragment: refused.
    // (A loopback-looking user name does not make a host loopback: `http://127.0.0.1:80@crm.example/`
    // goes to crm.example.)
    for bad in [
        "http://crm.example/sso",
        "javascript:alert(1)",
        "https://crm.example/sso#x",
        "crm.example/sso",
        "http://127.0.0.1:80@crm.example/sso",
        "http://localhost@crm.example/sso",
        "https://user:pw@crm.example/sso",
    ] {
        let (status, body) = app.request(Method::PUT, "/api/admin/sso", Some(&admin.access_token), Some(&sso(bad))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    for good in ["http://localhost:3001/sso", "http://127.0.0.1/sso", "http://[::1]:8080/sso"] {
        let (status, body) = app.request(Method::PUT, "/api/admin/sso", Some(&admin.access_token), Some(&sso(good))).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{good}: {body}");
    }
    let (status, body) =
        app.request(Method::PUT, "/api/admin/sso", Some(&admin.access_token), Some(&sso("https://crm.example/mpt-sso?x=1"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // The admin reads back what was set, never the secret.
    let (status, read) = app.get("/api/admin/sso", &admin.access_token).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["login_url"], "https://crm.example/mpt-sso?x=1");
    assert_eq!(read["algorithm"], "HS256");
    assert_eq!(read["organisation"], "demo");
    assert!(!read.to_string().contains(secret), "{read}");
    let (status, _) = app.get("/api/admin/sso", &app.demo_agent().await.access_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let r = start("demo").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.expect("json")["login_url"], "https://crm.example/mpt-sso?x=1");

    // The CRM sends the agent back with its JWT: a cookie session, as a password sign-in.
    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() + 300;
    let claims = json!({"iss": "https://crm.example", "aud": "mpt-phone", "sub": "u9", "email": "sso.app@crm.example", "name": "Sso App", "exp": exp});
    let jwt = encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign");
    let body = json!({"tenant": "demo", "assertion": jwt});
    assert_eq!(
        send(app, "/api/app/session/sso", Some("https://evil.example"), None, Some(body.clone())).await.status,
        StatusCode::FORBIDDEN
    );
    let a = send(app, "/api/app/session/sso", Some(origin), None, Some(body)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["agent"]["email"], "sso.app@crm.example");
    assert_eq!(a.body["refresh_token"], "");
    let cookie = pair(&a.set_cookie.expect("cookie"));
    let r = send(app, "/api/app/session/refresh", Some(origin), Some(&cookie), None).await;
    assert_eq!((r.status, r.body["agent"]["email"].as_str()), (StatusCode::OK, Some("sso.app@crm.example")));
    // A forged JWT: nothing.
    let forged = encode(&Header::default(), &claims, &EncodingKey::from_secret(b"not-the-secret-not-the-secret")).expect("sign");
    let f = send(app, "/api/app/session/sso", Some(origin), None, Some(json!({"tenant": "demo", "assertion": forged}))).await;
    assert_eq!(f.status, StatusCode::UNAUTHORIZED);
    assert!(f.set_cookie.is_none());
}

both_backends!(
    cookie_session_survives_a_reload_and_page_script_never_sees_the_refresh_token,
    a_disabled_agents_cookie_restores_nothing,
    sso_sign_in_goes_through_the_organisations_page_and_ends_in_a_cookie_session
);

/// Behind https the cookie is `Secure` (the browser then never sends it over plain http).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_is_secure_when_the_server_is_https() {
    let app = spawn_app_with(false, |c| c.public_url = Some("https://phone.example.com".into())).await.expect("sqlite app");
    let a = send(&app, "/api/app/session/login", Some("https://phone.example.com"), None, Some(login_body())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let set = a.set_cookie.expect("cookie");
    assert!(set.contains("; Secure") && set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    // The loopback URL the test reaches is not the server's own origin any more.
    assert_eq!(send(&app, "/api/app/session/login", Some(&app.url), None, Some(login_body())).await.status, StatusCode::FORBIDDEN);
    app.stop().await;
}
