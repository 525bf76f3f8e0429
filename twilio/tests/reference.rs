//! Differential tests against Twilio's official Node helper library (npm `twilio`,
//! driven by `tests/reference/ref.mjs`): access tokens, webhook signatures and TwiML.
//!
//! These tests never skip: without `node_modules/twilio` they fail and say how to
//! install it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use mpt_twilio::signature;
use mpt_twilio::token::{decode_verify, AccessToken, VoiceGrant};
use mpt_twilio::twiml::{CallEvent, Dial, DialTarget, Record, Response, Say, Verb};
use mpt_twilio::TwilioError;
use serde_json::{json, Value};

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Sends requests to the reference script in one batch; returns its answers in order.
fn reference(requests: &[Value]) -> Vec<Value> {
    let root = workspace_root();
    assert!(
        root.join("node_modules/twilio/package.json").exists(),
        "node_modules/twilio is missing: run `cargo xtask test` (it installs the npm packages)"
    );
    let mut child = Command::new("node")
        .arg(root.join("twilio/tests/reference/ref.mjs"))
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn node (is Node.js installed?)");
    let input = serde_json::to_vec(&Value::Array(requests.to_vec())).expect("json");
    child.stdin.take().expect("stdin").write_all(&input).expect("write stdin");
    let out = child.wait_with_output().expect("node output");
    assert!(out.status.success(), "ref.mjs failed: {}", String::from_utf8_lossy(&out.stderr));
    let answers: Vec<Value> = serde_json::from_slice(&out.stdout).expect("ref.mjs prints JSON");
    assert_eq!(answers.len(), requests.len());
    for (req, ans) in requests.iter().zip(&answers) {
        assert!(ans.get("error").is_none(), "reference error for {req}: {ans}");
    }
    answers
}

/// A small deterministic PRNG (SplitMix64) so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn text(&mut self, max: usize) -> String {
        const PIECES: &[&str] = &[
            "a", "Z", "0", "9", " ", "+", "&", "<", ">", "\"", "'", "=", "%20", "é", "中", "😀", "！", "\u{e000}", "-", "_", "\t", "\n",
            "\r", "/", "?", "#",
        ];
        (0..self.below(max + 1)).map(|_| self.pick(PIECES)).collect()
    }
}

fn params_json(params: &[(String, String)]) -> Value {
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in params {
        grouped.entry(k.clone()).or_default().push(v.clone());
    }
    let obj: serde_json::Map<String, Value> =
        grouped.into_iter().map(|(k, vs)| if vs.len() == 1 { (k, json!(vs[0])) } else { (k, json!(vs)) }).collect();
    Value::Object(obj)
}

fn random_url(rng: &mut Rng) -> String {
    let scheme = rng.pick(&["https", "http"]);
    let host = rng.pick(&["example.com", "api.mpt.test", "127.0.0.1", "xn--bcher-kva.example"]);
    let port = rng.pick(&["", "", ":443", ":80", ":8443", ":3000"]);
    let path = rng.pick(&["/twilio/voice", "/twilio/status", "/", "/a%20b/ü", "/hook.php"]);
    let query = rng.pick(&["", "?foo=1&bar=2", "?leg=child&x=%C3%A9", "?a=1&a=2", "?q=it's"]);
    format!("{scheme}://{host}{port}{path}{query}")
}

fn random_params(rng: &mut Rng) -> Vec<(String, String)> {
    const NAMES: &[&str] =
        &["CallSid", "From", "To", "Caller", "Digits", "crmContactId", "é", "中文", "😀key", "！key", "\u{e000}k", "a", "A", "_x"];
    (0..rng.below(8))
        .map(|_| {
            let name = rng.pick(NAMES).to_string();
            let value = rng.text(12);
            (name, value)
        })
        .collect()
}

#[test]
fn signatures_match_the_official_library() {
    let mut rng = Rng(0x5EED_0001);
    let token = "f0e1d2c3b4a5968778695a4b3c2d1e0f";
    let mut cases = Vec::new();
    let mut requests = Vec::new();
    for _ in 0..300 {
        let url = random_url(&mut rng);
        let mut params = random_params(&mut rng);
        // Repeated names with several values, sometimes duplicated.
        if rng.below(3) == 0 {
            let v = rng.text(5);
            params.push(("Repeated".into(), v.clone()));
            params.push(("Repeated".into(), rng.text(5)));
            params.push(("Repeated".into(), v));
        }
        let ours = signature::compute(token, &url, &params);
        let pj = params_json(&params);
        let tampered_url = format!("{url}x");
        let mut tampered_params = params.clone();
        tampered_params.push(("Tampered".into(), "1".into()));
        // Signed by a proxy-facing URL with the default port: must still validate.
        let with_port = signature::compute(token, &signature::add_port(&url), &params);
        requests.push(json!({"op": "signature", "auth_token": token, "url": url, "params": pj}));
        requests.push(json!({"op": "validate", "auth_token": token, "signature": ours, "url": url, "params": pj}));
        requests.push(json!({"op": "validate", "auth_token": token, "signature": ours, "url": tampered_url, "params": pj}));
        requests
            .push(json!({"op": "validate", "auth_token": token, "signature": ours, "url": url, "params": params_json(&tampered_params)}));
        requests.push(json!({"op": "validate", "auth_token": "wrong-token", "signature": ours, "url": url, "params": pj}));
        requests.push(json!({"op": "validate", "auth_token": token, "signature": with_port, "url": url, "params": pj}));
        cases.push((url, params, ours, tampered_url, tampered_params, with_port));
    }
    let answers = reference(&requests);
    for (i, (url, params, ours, tampered_url, tampered_params, with_port)) in cases.iter().enumerate() {
        let a = &answers[i * 6..i * 6 + 6];
        let ctx = format!("url={url:?} params={params:?}");
        assert_eq!(a[0]["signature"], json!(ours), "signature differs: {ctx}");
        assert_eq!(a[1]["valid"], json!(true), "{ctx}");
        assert!(signature::validate_form(token, url, params, ours), "{ctx}");
        assert_eq!(a[2]["valid"], json!(false), "tampered url: {ctx}");
        assert!(!signature::validate_form(token, tampered_url, params, ours), "{ctx}");
        assert_eq!(a[3]["valid"], json!(false), "tampered params: {ctx}");
        assert!(!signature::validate_form(token, url, tampered_params, ours), "{ctx}");
        assert_eq!(a[4]["valid"], json!(false), "wrong token: {ctx}");
        assert!(!signature::validate_form("wrong-token", url, params, ours), "{ctx}");
        assert_eq!(a[5]["valid"], json!(true), "default port: {ctx}");
        assert!(signature::validate_form(token, url, params, with_port), "{ctx}");
    }
}

#[test]
fn known_vector_matches_the_official_library() {
    let params: Vec<(String, String)> = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let a = reference(&[json!({"op": "signature", "auth_token": "12345", "url": url, "params": params_json(&params)})]);
    assert_eq!(a[0]["signature"], json!("0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_eq!(signature::compute("12345", url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
}

#[test]
fn json_body_signatures_match_the_official_library() {
    let mut rng = Rng(0x5EED_0002);
    let token = "a-json-auth-token";
    let mut requests = Vec::new();
    let mut cases = Vec::new();
    for _ in 0..50 {
        let body = json!({"text": rng.text(20), "n": rng.next() % 1000, "nested": {"k": rng.text(4)}}).to_string();
        let base = random_url(&mut rng);
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}bodySHA256={}", signature::body_sha256_hex(body.as_bytes()));
        let sig = signature::compute(token, &url, &[]);
        let tampered = format!("{body} ");
        requests.push(json!({"op": "validate_body", "auth_token": token, "signature": sig, "url": url, "body": body}));
        requests.push(json!({"op": "validate_body", "auth_token": token, "signature": sig, "url": url, "body": tampered}));
        requests.push(json!({"op": "validate_body", "auth_token": "other", "signature": sig, "url": url, "body": body}));
        cases.push((url, body, tampered, sig));
    }
    let answers = reference(&requests);
    for (i, (url, body, tampered, sig)) in cases.iter().enumerate() {
        let a = &answers[i * 3..i * 3 + 3];
        assert_eq!(a[0]["valid"], json!(true), "{url}");
        assert!(signature::validate_json(token, url, body.as_bytes(), sig), "{url}");
        assert_eq!(a[1]["valid"], json!(false), "{url}");
        assert!(!signature::validate_json(token, url, tampered.as_bytes(), sig), "{url}");
        assert_eq!(a[2]["valid"], json!(false), "{url}");
        assert!(!signature::validate_json("other", url, body.as_bytes(), sig), "{url}");
    }
}

fn token_variants() -> Vec<AccessToken> {
    let base = AccessToken::new(
        "AC0123456789abcdef0123456789abcdef",
        "SKfedcba9876543210fedcba9876543210",
        "the-api-key-secret",
        "agent-42",
        VoiceGrant {
            outgoing_application_sid: Some("APaaaabbbbccccddddeeeeffff00001111".into()),
            outgoing_params: BTreeMap::new(),
            incoming_allow: true,
        },
    );
    let mut v = vec![base.clone()];
    let mut t = base.clone();
    t.voice.outgoing_params.insert("crm".into(), "hubspot".into());
    t.voice.outgoing_params.insert("tenant".into(), "t-1 é \"q\"".into());
    v.push(t);
    let mut t = base.clone();
    t.voice.incoming_allow = false;
    t.ttl_secs = 86_400;
    v.push(t);
    let mut t = base.clone();
    t.voice.outgoing_application_sid = None;
    t.identity = "Ünïcødé agent 😀 <x@y>".into();
    t.ttl_secs = 60;
    v.push(t);
    v
}

fn token_request(t: &AccessToken, now: u64) -> Value {
    json!({
        "op": "token",
        "account_sid": t.account_sid,
        "api_key_sid": t.api_key_sid,
        "secret": t.api_key_secret,
        "identity": t.identity,
        "ttl": t.ttl_secs,
        "now": now,
        "incoming_allow": t.voice.incoming_allow,
        "outgoing_application_sid": t.voice.outgoing_application_sid,
        "outgoing_params": if t.voice.outgoing_params.is_empty() { Value::Null } else { json!(t.voice.outgoing_params) },
    })
}

#[test]
fn tokens_match_the_official_library_and_cross_verify() {
    let now = 1_790_000_000u64;
    let variants = token_variants();
    let mut requests = Vec::new();
    let mut ours = Vec::new();
    for t in &variants {
        let jwt = t.to_jwt(now).expect("mint");
        requests.push(token_request(t, now));
        requests.push(json!({"op": "verify_token", "jwt": jwt, "secret": t.api_key_secret, "now": now + 10}));
        requests.push(json!({"op": "verify_token", "jwt": jwt, "secret": t.api_key_secret, "now": now + t.ttl_secs}));
        requests.push(json!({"op": "verify_token", "jwt": jwt, "secret": "not-the-secret", "now": now + 10}));
        ours.push(jwt);
    }
    let answers = reference(&requests);
    for (i, (t, jwt)) in variants.iter().zip(&ours).enumerate() {
        let a = &answers[i * 4..i * 4 + 4];
        let theirs = a[0]["jwt"].as_str().expect("reference jwt");
        // Same key, grant, identity and clock: the library's JWT is byte for byte ours.
        assert_eq!(theirs, jwt, "variant {i}");
        // Our JWT verifies with the library's validator, with the claims we meant.
        assert_eq!(a[1]["ok"], json!(true), "variant {i}: {}", a[1]);
        let claims = &a[1]["claims"];
        assert_eq!(a[1]["header"], json!({"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}));
        assert_eq!(claims["iss"], json!(t.api_key_sid));
        assert_eq!(claims["sub"], json!(t.account_sid));
        assert_eq!(claims["jti"], json!(format!("{}-{now}", t.api_key_sid)));
        assert_eq!(claims["exp"], json!(now + t.ttl_secs));
        assert_eq!(claims["grants"]["identity"], json!(t.identity));
        assert!(claims.get("nbf").is_none(), "no nbf by default, like the library");
        // Expired and wrong-secret tokens are refused by both.
        assert_eq!(a[2]["ok"], json!(false), "expired: {}", a[2]);
        assert_eq!(a[3]["ok"], json!(false), "wrong secret: {}", a[3]);
        // The library's JWT verifies with ours.
        let c = decode_verify(theirs, &t.api_key_secret, now + 10).expect("reference token verifies");
        assert_eq!(c.grants.identity.as_deref(), Some(t.identity.as_str()));
        assert!(matches!(decode_verify(theirs, &t.api_key_secret, now + t.ttl_secs), Err(TwilioError::TokenExpired { .. })));
        assert!(matches!(decode_verify(theirs, "not-the-secret", now + 10), Err(TwilioError::BadSignature)));
    }
}

fn twiml_cases(rng: &mut Rng) -> Vec<Response> {
    let mut cases = vec![
        Response::new(),
        Response::new().dial(Dial {
            caller_id: Some("+15550000001".into()),
            answer_on_bridge: true,
            timeout: Some(25),
            action: Some("https://h.example/twilio/dial-done?call=1&x=\"2\"".into()),
            record: Some("record-from-answer".into()),
            targets: vec![DialTarget::number_with_all_events("+15551230001", "https://h.example/twilio/status?a=1&b=2")],
        }),
        Response::new().dial(Dial {
            timeout: Some(20),
            targets: vec![DialTarget::Client {
                identity: "agent-42".into(),
                parameters: vec![("crmContact".into(), "a&b<c>\"d\"".into()), ("empty".into(), String::new())],
                status_callback: Some("https://h.example/s".into()),
                status_callback_event: vec![CallEvent::Ringing, CallEvent::Answered],
            }],
            ..Dial::default()
        }),
        Response::new()
            .dial(Dial {
                targets: vec![DialTarget::Client {
                    identity: "bob".into(),
                    parameters: vec![],
                    status_callback: None,
                    status_callback_event: vec![],
                }],
                ..Dial::default()
            })
            .say("Leave a message after the tone.", Some("Polly.Joanna".into()))
            .record(Record {
                action: Some("https://h.example/rec?x=1&y=2".into()),
                max_length: Some(120),
                play_beep: Some(false),
                recording_status_callback: Some("https://h.example/recstatus".into()),
                transcribe: Some(true),
            })
            .verb(Verb::Pause { length: Some(2) })
            .pause(None)
            .verb(Verb::Reject { reason: Some("busy".into()) })
            .reject()
            .hangup(),
        Response::new().say("", None),
    ];
    for _ in 0..40 {
        let mut r = Response::new();
        for _ in 0..rng.below(4) + 1 {
            r = match rng.below(4) {
                0 => r.say(rng.text(15), (rng.below(2) == 0).then(|| rng.text(6))),
                1 => r.dial(Dial {
                    caller_id: Some(rng.text(8)),
                    answer_on_bridge: rng.below(2) == 0,
                    timeout: Some(rng.below(60) as u32),
                    action: (rng.below(2) == 0).then(|| rng.text(20)),
                    record: None,
                    targets: vec![DialTarget::Number {
                        number: format!("+1555{}", rng.below(10_000_000)),
                        status_callback: Some(rng.text(20)),
                        status_callback_event: CallEvent::ALL[..rng.below(5)].to_vec(),
                        status_callback_method: Some("POST".into()),
                    }],
                }),
                2 => r.verb(Verb::Redirect { url: format!("https://h.example/{}", rng.text(8)) }),
                _ => r.record(Record { max_length: Some(rng.below(3600) as u32), ..Record::default() }),
            };
        }
        cases.push(r);
    }
    cases
}

#[test]
fn twiml_renders_byte_for_byte_like_the_official_library() {
    let mut rng = Rng(0x5EED_0003);
    let cases = twiml_cases(&mut rng);
    let requests: Vec<Value> =
        cases.iter().map(|r| json!({"op": "twiml", "tree": serde_json::to_value(r.to_element()).expect("tree")})).collect();
    let answers = reference(&requests);
    for (r, a) in cases.iter().zip(&answers) {
        let ours = r.to_xml();
        assert_eq!(a["xml"], json!(ours), "structure {r:?}");
        // Our parser reads the library's output back, verb for verb.
        let theirs = a["xml"].as_str().expect("xml");
        let parsed = Response::parse(theirs).expect("parse library output");
        assert_eq!(parsed.verbs.len(), r.verbs.len());
    }
    // Spot check one exact rendering through the library.
    let say = Response::new().verb(Verb::Say(Say { text: "1 < 2 & \"3\"".into(), voice: None }));
    let a = reference(&[json!({"op": "twiml", "tree": serde_json::to_value(say.to_element()).expect("tree")})]);
    assert_eq!(a[0]["xml"], json!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>1 &lt; 2 &amp; \"3\"</Say></Response>"));
}

#[test]
fn not_before_from_the_library_is_enforced() {
    let now = 1_790_000_000u64;
    let t = &token_variants()[0];
    let mut req = token_request(t, now);
    req["nbf"] = json!(now + 100);
    let a = reference(&[req]);
    let jwt = a[0]["jwt"].as_str().expect("jwt");
    assert!(matches!(
        decode_verify(jwt, &t.api_key_secret, now + 10),
        Err(TwilioError::TokenNotYetValid { nbf, .. }) if nbf == now + 100
    ));
    let claims = decode_verify(jwt, &t.api_key_secret, now + 200).expect("valid after nbf");
    assert_eq!(claims.nbf, Some(now + 100));
}
