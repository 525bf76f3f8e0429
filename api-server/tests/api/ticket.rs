//! The event socket's single-use ticket (`../shared/CONTRACTS.md` §5), as the extension's
//! engine uses it. Minimal server side on this branch; issue 8 brings the full one.

use crate::both_backends;
use crate::helpers::TestApp;
use mpt_core::api::{EventTicket, ServerEvent};
use reqwest::{Method, StatusCode};

type Stream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(app: &TestApp, ticket: &str) -> Result<Stream, String> {
    let url = format!("{}/api/events?ticket={ticket}", app.url.replace("http://", "ws://"));
    tokio_tungstenite::connect_async(url).await.map(|(ws, _)| ws).map_err(|e| e.to_string())
}

/// The first frame that is not a heartbeat.
async fn first_event(ws: &mut Stream) -> mpt_core::api::EventEnvelope {
    use futures_util::StreamExt;
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("frame");
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            let env: mpt_core::api::EventEnvelope = serde_json::from_str(t.as_str()).expect("event frame");
            if !matches!(env.event, ServerEvent::Heartbeat { .. }) {
                return env;
            }
        }
    }
}

async fn a_ticket_opens_the_socket_once(app: &TestApp) {
    let s = app.demo_agent().await;
    let none: Option<&serde_json::Value> = None;
    let (status, _) = app.request(Method::POST, "/api/events/ticket", None, none).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a ticket needs a session");
    let (status, body) = app.request(Method::POST, "/api/events/ticket", Some(&s.access_token), none).await;
    assert_eq!(status, StatusCode::OK);
    let t: EventTicket = serde_json::from_value(body).expect("ticket");
    assert_eq!(t.expires_in, 30);
    assert!(!t.ticket.contains(&s.access_token));
    let mut ws = open(app, &t.ticket).await.expect("the ticket opens the socket");
    let hello = first_event(&mut ws).await;
    assert!(matches!(hello.event, ServerEvent::Hello { .. }), "{hello:?}");
    let _ = ws.close(None).await;
    assert!(open(app, &t.ticket).await.is_err(), "a ticket is single use");
    assert!(open(app, "made-up").await.is_err());
}

both_backends!(a_ticket_opens_the_socket_once);
