use crate::both_backends;
use crate::helpers::{parse, TestApp};
use jsonwebtoken::{encode, EncodingKey, Header};
use mpt_core::api::AuthResponse;
use reqwest::StatusCode;
use serde_json::json;

async fn login_me_refresh_logout(app: &TestApp) {
    let s = app.demo_agent().await;
    assert_eq!(s.token_type, "Bearer");
    assert!(s.expires_in <= 900);
    let (status, me) = app.get("/api/me", &s.access_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "agent@demo.mpt-phone.test");
    assert_eq!(me["role"], "agent");

    let (status, _) = app.post("/api/auth/login", None, &json!({"email": "agent@demo.mpt-phone.test", "password": "wrong-pass"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.post("/api/auth/login", None, &json!({"email": "nobody@x.test", "password": "whatever1"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/api/me", "garbage").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Rotation: the new refresh token works once; a second refresh of the old one right
    // after (two windows racing) gets the same successor; reusing it later revokes the family.
    let (status, body) = app.post("/api/auth/refresh", None, &json!({"refresh_token": s.refresh_token})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s2: AuthResponse = parse(body);
    assert_ne!(s2.refresh_token, s.refresh_token);
    let (status, body) = app.post("/api/auth/refresh", None, &json!({"refresh_token": s.refresh_token})).await;
    assert_eq!(status, StatusCode::OK, "a racing refresh within the grace: {body}");
    assert_eq!(parse::<AuthResponse>(body).refresh_token, s2.refresh_token, "the same successor");
    sqlx::query("UPDATE refresh_tokens SET used_at = used_at - 60000 WHERE used_at IS NOT NULL")
        .execute(&app.state().db.pool)
        .await
        .expect("age the rotation");
    let (status, _) = app.post("/api/auth/refresh", None, &json!({"refresh_token": s.refresh_token})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "reuse refused");
    let (status, _) = app.post("/api/auth/refresh", None, &json!({"refresh_token": s2.refresh_token})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "reuse revoked the whole family");

    // Logout revokes.
    let s3 = app.demo_agent().await;
    let (status, _) = app.post("/api/auth/logout", None, &json!({"refresh_token": s3.refresh_token})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.post("/api/auth/refresh", None, &json!({"refresh_token": s3.refresh_token})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn login_is_rate_limited(app: &TestApp) {
    let mut limited = false;
    for _ in 0..12 {
        let (status, body) =
            app.post("/api/auth/login", None, &json!({"email": "agent@demo.mpt-phone.test", "password": "bad-guess"})).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["error"]["code"], "rate_limited");
            limited = true;
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(limited, "the 11th attempt within a minute is refused");
}

async fn roles_api_keys_and_audit(app: &TestApp) {
    let agent = app.demo_agent().await;
    let admin = app.demo_admin().await;
    let new_agent = json!({"email": "new@demo.mpt-phone.test", "name": "New", "password": "long-enough-pass"});
    let (status, _) = app.post("/api/admin/agents", Some(&agent.access_token), &new_agent).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "agents cannot administer");
    let (status, body) = app.post("/api/admin/agents", Some(&admin.access_token), &new_agent).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = app.post("/api/admin/agents", Some(&admin.access_token), &new_agent).await;
    assert_eq!(status, StatusCode::CONFLICT);
    app.login("new@demo.mpt-phone.test", "long-enough-pass").await;

    let (status, key) = app.post("/api/admin/api-keys", Some(&admin.access_token), &json!({"name": "crm backend"})).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key = key["key"].as_str().expect("key").to_string();
    assert!(key.starts_with("mpt_"));
    let (status, page) = app.get("/api/calls", &key).await;
    assert_eq!(status, StatusCode::OK, "API key reads the tenant's calls: {page}");
    let (status, _) = app.get("/api/calls", "mpt_not-a-real-key").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Stored hashed.
    use sqlx::Row;
    let row = sqlx::query("SELECT key_hash FROM api_keys").fetch_one(&app.state().db.pool).await.expect("row");
    let stored: String = row.try_get("key_hash").expect("hash");
    assert!(!stored.contains(&key[4..]));

    let (status, log) = app.get("/api/admin/audit", &admin.access_token).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = log.as_array().expect("array").iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"agent.create") && actions.contains(&"api_key.create"), "{actions:?}");
    let (status, _) = app.get("/api/admin/audit", &agent.access_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[derive(serde::Serialize)]
struct SsoClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    email: &'a str,
    name: &'a str,
    exp: u64,
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs()
}

async fn sso_hs256_with_provisioning(app: &TestApp) {
    let admin = app.demo_admin().await;
    let secret = "crm-shared-secret-0123456789";
    let cfg = json!({"sso": {"issuer": "https://crm.example", "audience": "mpt-phone", "hs256_secret": secret}, "provision": true});
    let resp = app.request(reqwest::Method::PUT, "/api/admin/sso", Some(&admin.access_token), Some(&cfg)).await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT, "{}", resp.1);
    let sign = |iss: &str, aud: &str, exp: u64, key: &str| {
        let c = SsoClaims { iss, aud, sub: "crm-user-1", email: "sso.user@crm.example", name: "SSO User", exp };
        encode(&Header::default(), &c, &EncodingKey::from_secret(key.as_bytes())).expect("sign")
    };
    let good = sign("https://crm.example", "mpt-phone", now() + 300, secret);
    let (status, body) = app.post("/api/auth/sso", None, &json!({"tenant": "demo", "assertion": good})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s: AuthResponse = parse(body);
    assert_eq!(s.agent.email, "sso.user@crm.example");
    // Second time: the same agent.
    let (_, body) = app.post("/api/auth/sso", None, &json!({"tenant": "demo", "assertion": good})).await;
    assert_eq!(parse::<AuthResponse>(body).agent.id, s.agent.id);
    for bad in [
        sign("https://evil.example", "mpt-phone", now() + 300, secret),
        sign("https://crm.example", "other-aud", now() + 300, secret),
        sign("https://crm.example", "mpt-phone", now() - 3600, secret),
        sign("https://crm.example", "mpt-phone", now() + 300, "wrong-secret-wrong-secret"),
    ] {
        let (status, _) = app.post("/api/auth/sso", None, &json!({"tenant": "demo", "assertion": bad})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

/// Test-only key pair (generated for these tests; protects nothing).
const RSA_PRIVATE: &str = include_str!("fixtures/sso-test-rsa.pem");
const RSA_PUBLIC: &str = include_str!("fixtures/sso-test-rsa.pub.pem");

async fn sso_rs256_and_no_algorithm_confusion(app: &TestApp) {
    let admin = app.demo_admin().await;
    let cfg =
        json!({"sso": {"issuer": "https://crm.example", "audience": "mpt-phone", "rs256_public_pem": RSA_PUBLIC}, "provision": false});
    let resp = app.request(reqwest::Method::PUT, "/api/admin/sso", Some(&admin.access_token), Some(&cfg)).await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT, "{}", resp.1);
    let claims =
        |email: &'static str| SsoClaims { iss: "https://crm.example", aud: "mpt-phone", sub: "u1", email, name: "x", exp: now() + 300 };
    let key = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).expect("rsa key");
    let good = encode(&Header::new(jsonwebtoken::Algorithm::RS256), &claims("agent@demo.mpt-phone.test"), &key).expect("sign");
    let (status, body) = app.post("/api/auth/sso", None, &json!({"tenant": "demo", "assertion": good})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["agent"]["identity"], "demo-agent");
    // Unknown agent and provisioning off: refused.
    let stranger = encode(&Header::new(jsonwebtoken::Algorithm::RS256), &claims("stranger@crm.example"), &key).expect("sign");
    let (status, _) = app.post("/api/auth/sso", None, &json!({"tenant": "demo", "assertion": stranger})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // HS256 signed with the public key as the secret (algorithm confusion): refused.
    let forged =
        encode(&Header::default(), &claims("agent@demo.mpt-phone.test"), &EncodingKey::from_secret(RSA_PUBLIC.as_bytes())).expect("sign");
    let (status, _) = app.post("/api/auth/sso", None, &json!({"tenant": "demo", "assertion": forged})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.post("/api/auth/sso", None, &json!({"tenant": "nope", "assertion": good})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn token_minting_is_rate_limited(app: &TestApp) {
    let s = app.demo_agent().await;
    let mut limited = false;
    for _ in 0..70 {
        let (status, _) = app.post("/api/twilio/token", Some(&s.access_token), &()).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_eq!(status, StatusCode::OK);
    }
    assert!(limited, "more than 60 mints a minute are refused");
}

both_backends!(sso_rs256_and_no_algorithm_confusion, token_minting_is_rate_limited);
both_backends!(login_me_refresh_logout, login_is_rate_limited, roles_api_keys_and_audit, sso_hs256_with_provisioning);
