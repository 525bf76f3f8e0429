//! The binary: ports 0, one ready line, both origins answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn http_get(base: &str, path: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn prints_one_ready_line_and_serves_both_origins() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mpt-demo-crm"))
        .args(["--mpt-port", "0", "--ams-port", "0", "--exit-with-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("json");
    assert_eq!(ready["event"], "listening");
    let mpt = ready["mpt_crm"].as_str().expect("mpt_crm").to_owned();
    let ams = ready["ams_crm"].as_str().expect("ams_crm").to_owned();
    assert_ne!(mpt, ams);
    assert!(mpt.starts_with("http://127.0.0.1:") && ams.starts_with("http://127.0.0.1:"));
    let a = http_get(&mpt, "/contacts");
    let b = http_get(&ams, "/clients");
    // Closing stdin ends the process (no orphan when a harness dies).
    drop(child.stdin.take());
    let status = child.wait().expect("wait");
    assert!(a.starts_with("HTTP/1.1 200") && a.contains("MPT-CRM"), "{}", &a[..a.len().min(200)]);
    assert!(b.starts_with("HTTP/1.1 200") && b.contains("AMS-APP-CRM"));
    assert!(status.success());
}

#[test]
fn rejects_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_mpt-demo-crm")).args(["--mpt-port", "x"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a port"));
}
