//! Twilio REST request shapes against the official Node library (npm `twilio`, driven
//! by `tests/reference/rest_ref.mjs`): the provisioning sequence is run once with our
//! [`RestClient`] and once with the library, each against its own
//! [`RestStandIn`]; the recorded requests must agree in method, path, query, form
//! fields, content type and auth (SIDs the stand-ins minted are compared by their
//! order of appearance, since each stand-in mints its own).
//!
//! Never skips: without `node_modules/twilio` it fails and says how to install it.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use mpt_twilio::rest::{AccountStatus, NewApplication, RestClient};
use mpt_twilio::rest_standin::{RecordedRequest, RestStandIn};
use serde_json::json;

const MAIN_SID: &str = "AC00000000000000000000000000000001";
const MAIN_TOKEN: &str = "main-auth-token";

fn app() -> NewApplication {
    NewApplication {
        friendly_name: "MPT Phone".into(),
        voice_url: "https://phone.example.com/twilio/voice".into(),
        status_callback: "https://phone.example.com/twilio/status".into(),
    }
}

/// A request reduced to what must agree: method, path, sorted query, sorted form,
/// `Authorization`, content type.
type Shape = (String, String, Vec<(String, String)>, Vec<(String, String)>, Option<String>, Option<String>);

/// Replaces each SID the stand-in minted by `<prefix>#n` (n = order of first appearance).
fn normalize(reqs: &[RecordedRequest]) -> Vec<Shape> {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut norm = |s: &str| -> String {
        let mut out = String::new();
        let mut rest = s;
        while !rest.is_empty() {
            let at = ["AC", "SK", "AP", "PN"]
                .iter()
                .filter_map(|p| rest.find(p).map(|i| (i, *p)))
                .filter(|(i, _)| {
                    let tail = &rest[i + 2..];
                    tail.len() >= 32 && tail[..32].bytes().all(|b| b.is_ascii_hexdigit())
                })
                .min_by_key(|(i, _)| *i);
            match at {
                Some((i, p)) => {
                    out.push_str(&rest[..i]);
                    let sid = &rest[i..i + 34];
                    let n = seen.len();
                    let name = if sid == MAIN_SID {
                        "MAIN".to_string()
                    } else {
                        seen.entry(sid.to_string()).or_insert_with(|| format!("{p}#{n}")).clone()
                    };
                    out.push_str(&name);
                    rest = &rest[i + 34..];
                }
                None => {
                    out.push_str(rest);
                    rest = "";
                }
            }
        }
        out
    };
    reqs.iter()
        .map(|r| {
            let mut q: Vec<(String, String)> = r.query.iter().map(|(k, v)| (k.clone(), norm(v))).collect();
            q.sort();
            let mut f: Vec<(String, String)> = r.form.iter().map(|(k, v)| (k.clone(), norm(v))).collect();
            f.sort();
            // Phone numbers differ only if the stand-ins' offers differ; they don't.
            let ct = r.content_type.as_ref().map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
            (r.method.clone(), norm(&r.path), q, f, r.authorization.clone(), ct)
        })
        .collect()
}

fn run_reference(standin: &RestStandIn, main_number_sid: &str) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    assert!(
        root.join("node_modules/twilio/package.json").exists(),
        "node_modules/twilio is missing: run `npm ci` at the workspace root (or `cargo xtask test`, which installs the npm packages)"
    );
    let a = app();
    let input = json!({
        "base": standin.base_url, "account_sid": MAIN_SID, "auth_token": MAIN_TOKEN, "main_number_sid": main_number_sid,
        "friendly_name": "MPT Phone: Acme", "key_name": "mpt-phone",
        "app": { "friendly_name": a.friendly_name, "voice_url": a.voice_url, "status_callback": a.status_callback },
        "country": "US", "area_code": "415",
    });
    let mut child = Command::new("node")
        .arg(root.join("twilio/tests/reference/rest_ref.mjs"))
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn node (is Node.js installed?)");
    child.stdin.take().expect("stdin").write_all(input.to_string().as_bytes()).expect("write");
    let out = child.wait_with_output().expect("node");
    assert!(out.status.success(), "rest_ref.mjs failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], json!(true), "reference run failed: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_requests_match_the_official_library() {
    // Ours.
    let ours = RestStandIn::start(MAIN_SID, MAIN_TOKEN).await.expect("stand-in");
    let main_pn = ours.add_number(MAIN_SID, "+14155550999");
    let c = RestClient::new(&ours.base_url, MAIN_SID, MAIN_TOKEN).expect("client");
    let sub = c.create_subaccount("MPT Phone: Acme").await.expect("subaccount");
    c.create_api_key(&sub.sid, "mpt-phone").await.expect("key");
    let application = c.create_application(&sub.sid, &app()).await.expect("app");
    let offer = c.available_local_numbers(&sub.sid, "US", Some("415"), 1).await.expect("numbers");
    c.buy_number(&sub.sid, &offer[0].phone_number, &application.sid).await.expect("buy");
    c.set_account_status(&sub.sid, AccountStatus::Suspended).await.expect("suspend");
    c.set_account_status(&sub.sid, AccountStatus::Active).await.expect("resume");
    c.transfer_number(MAIN_SID, &main_pn, &sub.sid).await.expect("transfer");
    c.set_number_application(&sub.sid, &main_pn, &application.sid).await.expect("point");
    // The admin's "verify": read the account and its numbers.
    assert_eq!(c.fetch_account(&sub.sid).await.expect("fetch").status, "active");
    assert_eq!(c.incoming_numbers(&sub.sid, 50).await.expect("numbers").len(), 2);

    // The official library's.
    let theirs = RestStandIn::start(MAIN_SID, MAIN_TOKEN).await.expect("stand-in");
    let their_pn = theirs.add_number(MAIN_SID, "+14155550999");
    let reference = tokio::task::spawn_blocking({
        let theirs = theirs.clone();
        move || run_reference(&theirs, &their_pn)
    });
    reference.await.expect("reference run");

    let (a, b) = (normalize(&ours.requests()), normalize(&theirs.requests()));
    assert_eq!(a.len(), b.len(), "request counts differ:\nours   {a:#?}\ntheirs {b:#?}");
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "request {i} differs");
    }
    // The sequence did what it says on both sides.
    for s in [&ours, &theirs] {
        let subs = s.subaccounts();
        assert_eq!(subs.len(), 1);
        assert_eq!(s.account(&subs[0]).expect("sub").status, "active");
        assert_eq!(s.keys(&subs[0]).len(), 1);
        assert_eq!(s.numbers(&subs[0]).len(), 2);
        assert!(s.numbers(&subs[0]).iter().all(|n| n.voice_application_sid.is_some()));
    }
}

#[tokio::test]
async fn the_standin_refuses_wrong_credentials_and_foreign_accounts() {
    let s = RestStandIn::start(MAIN_SID, MAIN_TOKEN).await.expect("stand-in");
    let bad = RestClient::new(&s.base_url, MAIN_SID, "wrong").expect("client");
    let e = bad.create_subaccount("x").await.expect_err("wrong token");
    assert!(matches!(e, mpt_twilio::TwilioError::Api { status: 401, code: Some(20003), .. }), "{e}");
    let main = RestClient::new(&s.base_url, MAIN_SID, MAIN_TOKEN).expect("client");
    let a = main.create_subaccount("a").await.expect("a");
    let b = main.create_subaccount("b").await.expect("b");
    // A subaccount's own credentials reach only itself.
    let as_a = RestClient::new(&s.base_url, &a.sid, &a.auth_token).expect("client");
    as_a.create_api_key(&a.sid, "k").await.expect("own key");
    let e = as_a.create_api_key(&b.sid, "k").await.expect_err("other subaccount");
    assert!(matches!(e, mpt_twilio::TwilioError::Api { status: 401, .. }), "{e}");
}
