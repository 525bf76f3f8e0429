//! The demo CRMs through their routers: pages render, the ground truth agrees
//! with an independent scan of the markup, the API needs its token.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use mpt_demo_crm::page::{PageTruth, Site};
use mpt_demo_crm::{router, AppState, Dataset};
use regex::Regex;
use serde_json::Value;
use tower::ServiceExt;

struct Crm {
    mpt: AppState,
    ams: AppState,
}

fn crm() -> Crm {
    let data = Arc::new(Dataset::generate());
    Crm {
        mpt: AppState { data: data.clone(), site: Site::Mpt, base: "http://mpt.test".into() },
        ams: AppState { data, site: Site::Ams, base: "http://ams.test".into() },
    }
}

async fn get(st: &AppState, uri: &str, auth: Option<&str>) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::builder().uri(uri);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = router(st.clone()).oneshot(req.body(Body::empty()).expect("request")).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 64 << 20).await.expect("body");
    (status, headers, String::from_utf8(bytes.to_vec()).expect("utf-8"))
}

async fn get_json(st: &AppState, uri: &str, auth: Option<&str>) -> (StatusCode, Value) {
    let (s, _, body) = get(st, uri, auth).await;
    (s, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Visible text: scripts, selects, editors and tags removed, entities decoded.
fn visible_text(html: &str) -> String {
    static DROP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?s)<head>.*?</head>|<script[^>]*>.*?</script>|<select[^>]*>.*?</select>|<div[^>]*contenteditable[^>]*>.*?</div>|<details[^>]*>.*?</details>"#)
            .expect("regex")
    });
    static TAGS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").expect("regex"));
    let t = DROP.replace_all(html, " ");
    let t = TAGS.replace_all(&t, " ");
    t.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

/// An independent, deliberately naive phone scanner: every NANP or UK-shaped run.
fn scan(text: &str) -> Vec<String> {
    static PHONE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\+44[ -]\d{2,4}[ -]\d{3,6}(?:[ -]\d{3,4})?|(?:\+?1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-]?)\d{3}[ .-]?\d{4}").expect("regex")
    });
    PHONE
        .find_iter(text)
        .map(|m| {
            let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
            if m.as_str().starts_with("+44") || digits.len() == 11 {
                format!("+{digits}")
            } else {
                format!("+1{digits}")
            }
        })
        .collect()
}

/// Checks one server-rendered page against its truth.
fn check_page(html: &str, truth: &PageTruth) {
    let mut text = visible_text(html);
    for la in &truth.not_numbers {
        assert!(text.contains(&la.text), "{}: look-alike {:?} not on the page", truth.path, la.text);
        text = text.replacen(&la.text, " ", 1);
    }
    let found = scan(&text);
    let expected: Vec<&str> = truth.numbers.iter().map(|e| e.e164.as_str()).collect();
    assert_eq!(found, expected, "{}: numbers on the page differ from the truth", truth.path);
    assert_eq!(truth.count, truth.numbers.len());
    static TEL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"href="tel:([^"]*)""#).expect("regex"));
    let hrefs: Vec<&str> = TEL.captures_iter(html).filter_map(|c| c.get(1)).map(|m| m.as_str()).collect();
    let expected_tel: Vec<&str> = truth.numbers.iter().filter(|n| n.tel_link).map(|n| n.e164.as_str()).collect();
    assert_eq!(hrefs, expected_tel, "{}: tel: links differ from the truth", truth.path);
    for ig in &truth.ignored {
        assert!(
            html.contains(&mpt_demo_crm::page::esc(&ig.text)) || html.contains(&ig.text),
            "{}: ignored {:?} missing",
            truth.path,
            ig.text
        );
    }
}

#[tokio::test]
async fn every_page_renders_and_matches_its_truth() {
    let c = crm();
    for st in [&c.mpt, &c.ams] {
        let (s, index) = get_json(st, "/__truth", None).await;
        assert_eq!(s, StatusCode::OK);
        let pages: Vec<String> = serde_json::from_value(index["pages"].clone()).expect("pages");
        assert!(pages.len() > 50, "{:?} has only {} pages", st.site, pages.len());
        for path in pages {
            let (s, _, html) = get(st, &path, None).await;
            assert_eq!(s, StatusCode::OK, "{path}");
            let r = st.render(path.split('?').next().unwrap_or(""), &query_of(&path)).expect("render");
            assert_eq!(r.html, html, "{path}: served page differs from the rendered one");
            if !r.truth.client_rendered {
                check_page(&html, &r.truth);
            }
            let (s, t) = get_json(st, &format!("/__truth{path}"), None).await;
            assert_eq!(s, StatusCode::OK, "/__truth{path}");
            assert_eq!(t["count"].as_u64(), Some(r.truth.count as u64), "{path}");
        }
    }
}

fn query_of(path: &str) -> BTreeMap<String, String> {
    path.split_once('?')
        .map(|(_, q)| q.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn list_counts_and_contact_ids() {
    let c = crm();
    let (_, t) = get_json(&c.mpt, "/__truth/contacts", None).await;
    // 50 rows × (work + mobile) + the support line in the footer.
    assert_eq!(t["count"], 101);
    assert_eq!(t["client_rendered"], false);
    let (_, _, html) = get(&c.mpt, "/contacts", None).await;
    assert_eq!(html.matches("<tr data-contact-id=\"c-").count(), 50);
    let (_, _, html) = get(&c.ams, "/clients", None).await;
    assert_eq!(html.matches("<article class=\"client-card\" data-contact-id=\"c-").count(), 60);
    let (_, t) = get_json(&c.mpt, "/__truth/stress?summary=1", None).await;
    assert_eq!(t["count"], 20_001);
    assert_eq!(t["numbers"].as_array().map(Vec::len), Some(0), "summary drops the lists");
}

#[tokio::test]
async fn load_more_json_agrees_with_the_server_rendered_page_two() {
    let c = crm();
    let (_, p1) = get_json(&c.mpt, "/__truth/contacts", None).await;
    let (_, p2) = get_json(&c.mpt, "/__truth/contacts?page=2", None).await;
    let (s, rows) = get_json(&c.mpt, "/contacts.json?page=2", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rows["shown"], 100);
    assert_eq!(rows["has_more"], true);
    let n1 = p1["numbers"].as_array().expect("numbers");
    let n2 = p2["numbers"].as_array().expect("numbers");
    assert_eq!(n2.len(), 201);
    // Page 2 = page 1's rows, then the JSON rows (work, mobile), then the footer.
    assert_eq!(n2[..100], n1[..100]);
    for (i, row) in rows["rows"].as_array().expect("rows").iter().enumerate() {
        assert_eq!(n2[100 + 2 * i]["text"], row["phone_text"]);
        assert_eq!(n2[100 + 2 * i]["e164"], row["phone_e164"]);
        assert_eq!(n2[101 + 2 * i]["text"], row["mobile_text"]);
        assert_eq!(n2[100 + 2 * i]["contact_id"], row["id"]);
    }
    for bad in ["0", "x", "400000000000000000", "10001"] {
        let (s, _) = get_json(&c.mpt, &format!("/contacts.json?page={bad}"), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "page={bad}");
    }
    let (s, v) = get_json(&c.mpt, "/contacts.json?page=10000", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(0));
    let (s, _, _) = get(&c.mpt, "/contacts?stage=Nope", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn renewals_truth_matches_the_json_the_page_renders() {
    let c = crm();
    let (_, t) = get_json(&c.ams, "/__truth/renewals", None).await;
    let (s, rows) = get_json(&c.ams, "/renewals.json", None).await;
    assert_eq!(s, StatusCode::OK);
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 40);
    assert_eq!(t["client_rendered"], true);
    let nums = t["numbers"].as_array().expect("numbers");
    assert_eq!(nums.len(), 41, "agency main line + one phone per row");
    for (row, n) in rows.iter().zip(&nums[1..]) {
        assert_eq!(row["phone_e164"], n["e164"]);
        assert_eq!(row["phone_text"], n["text"]);
        assert_eq!(row["contact_id"], n["contact_id"]);
    }
    let (_, _, html) = get(&c.ams, "/renewals", None).await;
    assert!(!html.contains("tel:"), "renewal rows are rendered by the page's script");
}

#[tokio::test]
async fn strict_csp_page() {
    let c = crm();
    let (s, h, html) = get(&c.mpt, "/strict-csp", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.get("content-security-policy").and_then(|v| v.to_str().ok()), Some("default-src 'self'"));
    assert!(!html.contains("style=\""), "inline styles would be blocked");
    assert!(!Regex::new(r"<script(?: [^>]*)?>").expect("regex").find_iter(&html).any(|m| !m.as_str().contains("src=")));
    let (_, t) = get_json(&c.mpt, "/__truth/strict-csp", None).await;
    assert_eq!(t["count"], 51);
    let (_, h, _) = get(&c.mpt, "/contacts", None).await;
    assert!(h.get("content-security-policy").is_none());
}

#[tokio::test]
async fn detail_page_has_editable_and_hidden_numbers() {
    let c = crm();
    let (_, _, html) = get(&c.mpt, "/contacts/c-0001", None).await;
    let (_, t) = get_json(&c.mpt, "/__truth/contacts/c-0001", None).await;
    let places: Vec<&str> = t["ignored"].as_array().expect("ignored").iter().filter_map(|i| i["place"].as_str()).collect();
    for p in ["input", "option", "contenteditable", "script", "collapsed"] {
        assert!(places.contains(&p), "no {p} number");
    }
    assert!(html.contains("contenteditable=\"true\""));
    assert!(html.contains("<input type=\"tel\""));
    let fields: Vec<&str> = t["numbers"].as_array().expect("numbers").iter().filter_map(|n| n["field"].as_str()).collect();
    for f in ["work", "mobile", "fax", "home", "support"] {
        assert!(fields.contains(&f), "no {f} number");
    }
    assert!(t["numbers"].as_array().expect("numbers").iter().any(|n| n["ext"].is_string()));
    let kinds: Vec<&str> = t["not_numbers"].as_array().expect("nn").iter().filter_map(|n| n["kind"].as_str()).collect();
    assert!(kinds.contains(&"deal") && kinds.contains(&"date"));
    let (s, _, _) = get(&c.mpt, "/contacts/c-9999", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn api_requires_the_token_and_answers_in_each_layout() {
    let c = crm();
    let auth = Some("Bearer demo-crm-token");
    for st in [&c.mpt, &c.ams] {
        let (s, h, _) = get(st, "/api/contacts?q=a", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(h.get("www-authenticate").is_some());
        let (s, _) = get_json(st, "/api/contacts?q=a", Some("Bearer wrong")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = get_json(st, "/api/contacts?phone=+14155550123", auth).await;
        assert_eq!(s, StatusCode::OK, "a bare + lost in the query string is tolerated");
        let (s, _) = get_json(st, "/api/contacts?phone=abc", auth).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = get_json(st, "/api/contacts", auth).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }
    let d = &c.mpt.data;
    let first = &d.mpt.contacts[0];
    let (s, v) = get_json(&c.mpt, &format!("/api/contacts?phone=%2B{}", &first.mobile.0.e164()[1..]), auth).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["meta"]["total"], 1);
    assert_eq!(v["data"][0]["id"], first.id.as_str());
    assert_eq!(v["data"][0]["attributes"]["phone_numbers"][1]["number"], first.mobile.0.e164());
    assert_eq!(v["data"][0]["links"]["self"], format!("http://mpt.test/contacts/{}", first.id));
    // An AMS number is unknown to MPT-CRM.
    let ams_client = &d.ams.clients[0];
    let (_, v) = get_json(&c.mpt, &format!("/api/contacts?phone=%2B{}", &ams_client.cell.0.e164()[1..]), auth).await;
    assert_eq!(v["meta"]["total"], 0);
    let (_, v) = get_json(&c.ams, &format!("/api/contacts?phone=%2B{}", &ams_client.cell.0.e164()[1..]), auth).await;
    assert_eq!(v["TotalCount"], 1);
    assert_eq!(v["Clients"][0]["ClientID"], ams_client.id.as_str());
    assert_eq!(v["Clients"][0]["Phones"]["Cell"], ams_client.cell.0.format(ams_client.cell.1));
    let (_, v) = get_json(&c.ams, "/api/contacts?q=bakery", auth).await;
    assert_eq!(v["TotalCount"], 1);
    assert_eq!(v["Clients"][0]["ClientName"], "Brennan's Bakery");
    let (_, v) = get_json(&c.mpt, &format!("/api/contacts?q={}", first.company.replace(' ', "%20")), auth).await;
    assert!(v["meta"]["total"].as_u64().unwrap_or(0) >= 1);
}

#[tokio::test]
async fn static_assets() {
    let c = crm();
    for (st, name, mime) in [
        (&c.mpt, "mpt.css", "text/css"),
        (&c.mpt, "mpt.js", "text/javascript"),
        (&c.ams, "renewals.js", "text/javascript"),
        (&c.ams, "favicon-ams.svg", "image/svg+xml"),
    ] {
        let (s, h, body) = get(st, &format!("/static/{name}"), None).await;
        assert_eq!(s, StatusCode::OK, "{name}");
        assert!(h["content-type"].to_str().unwrap_or("").starts_with(mime), "{name}");
        assert!(!body.is_empty());
    }
    let (s, _, _) = get(&c.mpt, "/static/nope.js", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[test]
fn scanner_sanity() {
    assert_eq!(scan("call (415) 555-0123 or 1-212-555-0100"), vec!["+14155550123", "+12125550100"]);
    assert_eq!(scan("+44 20 7946 0321 / +44 7700 900123"), vec!["+442079460321", "+447700900123"]);
}
