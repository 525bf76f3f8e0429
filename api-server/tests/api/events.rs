use crate::both_backends;
use crate::helpers::TestApp;
use mpt_core::api::ServerEvent;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn body(n: u32) -> serde_json::Value {
    json!({"direction": "outbound", "from": "+14155550100", "to": "+14155550142", "started_at": n, "notes": format!("n{n}")})
}

async fn live_events_resume_without_loss(app: &TestApp) {
    let s = app.demo_agent().await;
    let t = Some(s.access_token.as_str());
    let mut ws = app.ws(&s.access_token, None).await;
    let hello = ws.next(5).await.expect("hello");
    assert!(matches!(hello.event, ServerEvent::Hello { .. }), "{hello:?}");
    assert_eq!(app.request(Method::PUT, "/api/calls/evt-call-0001", t, Some(&body(1))).await.0, StatusCode::CREATED);
    let ev = ws.until(5, |e| matches!(&e.event, ServerEvent::LogUpdated { call } if call.id == "evt-call-0001")).await;
    let last = ev.id.expect("stored events have ids");
    ws.close().await;

    // While disconnected: three more changes.
    for i in 2..5 {
        app.request(Method::PUT, &format!("/api/calls/evt-call-{i:04}"), t, Some(&body(i))).await;
    }
    let mut ws = app.ws(&s.access_token, Some(last)).await;
    let mut got = Vec::new();
    loop {
        let ev = ws.next(5).await.expect("event");
        match ev.event {
            ServerEvent::LogUpdated { call } => {
                assert!(ev.id.expect("id") > last);
                got.push(call.id);
            }
            ServerEvent::Hello { last_event_id, .. } => {
                assert!(last_event_id > last);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(got, ["evt-call-0002", "evt-call-0003", "evt-call-0004"]);

    // Presence from the socket reaches other agents of the tenant.
    let admin = app.demo_admin().await;
    let mut ws_admin = app.ws(&admin.access_token, None).await;
    ws_admin.next(5).await.expect("hello");
    ws.send_text(r#"{"type":"presence","available":false}"#).await;
    let ev = ws_admin.until(5, |e| matches!(e.event, ServerEvent::Presence { .. })).await;
    assert_eq!(ev.event, ServerEvent::Presence { agent_id: s.agent.id.clone(), available: false });
    ws.close().await;
    ws_admin.close().await;
}

async fn socket_requires_a_valid_token(app: &TestApp) {
    let url = format!("{}/api/events?token=nope", app.url.replace("http://", "ws://"));
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    assert_eq!(app.ws_with_ticket("tk_nope", None).await.err(), Some(401));
}

/// Events past retention are pruned oldest first (in chunks), and a client resuming
/// from a pruned id is told to re-read (`resync`) while still getting what is left.
async fn old_events_are_pruned_and_resuming_clients_told(app: &TestApp) {
    use sqlx::Row;
    let s = app.demo_agent().await;
    let hub = &app.state().hub;
    let tenant = s.agent.tenant_id.clone();
    let mut ids = Vec::new();
    for available in [true, false, true, false, true, false] {
        let ev = ServerEvent::Presence { agent_id: s.agent.id.clone(), available };
        ids.push(hub.publish(&tenant, None, &ev).await.expect("publish"));
    }
    // The first four are a week old.
    sqlx::query("UPDATE events SET created_at = 1000 WHERE id <= $1")
        .bind(ids[3] as i64)
        .execute(&app.state().db.pool)
        .await
        .expect("age events");
    assert_eq!(hub.pruned_through().await.expect("horizon"), 0);
    let cutoff = mpt_api_server::db::now_ms() - 3_600_000;
    let deleted = hub.prune(cutoff, 3).await.expect("prune");
    assert!(deleted >= 4, "the four old ones (and any older seed events) go: {deleted}");
    assert_eq!(hub.pruned_through().await.expect("horizon"), ids[3]);
    let left: Vec<i64> = sqlx::query("SELECT id FROM events WHERE id >= $1 ORDER BY id")
        .bind(ids[0] as i64)
        .fetch_all(&app.state().db.pool)
        .await
        .expect("left")
        .iter()
        .map(|r| r.try_get("id").expect("id"))
        .collect();
    assert_eq!(left, [ids[4] as i64, ids[5] as i64]);
    assert_eq!(hub.prune(cutoff, 3).await.expect("prune again"), 0, "nothing more to prune");

    // Resuming from before the horizon: what is left is replayed, and hello says resync.
    let mut ws = app.ws(&s.access_token, Some(ids[1])).await;
    let mut replayed = Vec::new();
    let resync = loop {
        let ev = ws.next(5).await.expect("event");
        match ev.event {
            ServerEvent::Hello { resync, .. } => break resync,
            _ => replayed.push(ev.id.expect("id")),
        }
    };
    assert!(resync, "events after {} were pruned", ids[1]);
    assert_eq!(replayed, [ids[4], ids[5]]);
    ws.close().await;
    // Resuming from the horizon or later: a complete replay.
    let mut ws = app.ws(&s.access_token, Some(ids[3])).await;
    let hello = ws.until(5, |e| matches!(e.event, ServerEvent::Hello { .. })).await;
    assert!(matches!(hello.event, ServerEvent::Hello { resync: false, .. }), "{hello:?}");
    ws.close().await;
}

both_backends!(live_events_resume_without_loss, socket_requires_a_valid_token, old_events_are_pruned_and_resuming_clients_told);

/// With PostgreSQL, an event published by one server reaches a socket on another
/// (LISTEN/NOTIFY), in order and without loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_cross_processes() {
    let Some(app) = crate::helpers::spawn_app_pg().await else {
        crate::helpers::announce("backend postgres: NOT RUN for postgres_events_cross_processes (MPT_TEST_DATABASE_URL unset)");
        return;
    };
    let other = app.sibling().await;
    let s = app.demo_agent().await;
    let mut ws = app.ws(&s.access_token, None).await;
    ws.next(5).await.expect("hello");
    // Webhook-driven changes arrive at the other server.
    let t = app.demo_tenant().await;
    let http = reqwest::Client::new();
    for i in 0..5u32 {
        let b = body(i);
        let r =
            http.put(format!("{}/api/calls/xproc-call-{i:04}", other.url)).bearer_auth(&s.access_token).json(&b).send().await.expect("put");
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let _ = t;
    let mut got = Vec::new();
    while got.len() < 5 {
        let ev = ws.until(10, |e| matches!(e.event, ServerEvent::LogUpdated { .. })).await;
        if let ServerEvent::LogUpdated { call } = ev.event {
            got.push(call.id);
        }
    }
    let want: Vec<String> = (0..5).map(|i| format!("xproc-call-{i:04}")).collect();
    assert_eq!(got, want);
    ws.close().await;
    other.shutdown().await;
    crate::helpers::announce("backend postgres: ran postgres_events_cross_processes");
    app.stop().await;
}

/// A socket opened without `last_event_id` gets every event committed after the client
/// saw it open (the 101), however late the server fixes its starting point. The server
/// is held in that step by a lock on `events` (PostgreSQL: `LOCK TABLE` blocks the
/// server's `MAX(id)` read), and an event commits while it waits. Before the fix the
/// server answered the handshake first and read `MAX(id)` after, so an event committed
/// in between counted as already seen and never reached the socket (what made
/// `status_writer::concurrent_callbacks_all_land` miss one call's events now and then).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_socket_gets_events_committed_after_it_opened() {
    use sqlx::Row;
    let Some(app) = crate::helpers::spawn_app_pg().await else {
        crate::helpers::announce(
            "backend postgres: NOT RUN for postgres_socket_gets_events_committed_after_it_opened (MPT_TEST_DATABASE_URL unset)",
        );
        return;
    };
    let s = app.demo_agent().await;
    let tenant = s.agent.tenant_id.clone();
    let state = app.state().clone();
    let ticket = app.ticket(&s.access_token).await;
    let mut tx = state.db.pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE").execute(&mut *tx).await.expect("lock events");
    let url = app.url.clone();
    let connect = tokio::spawn(async move {
        let ws_url = format!("{}/api/events?ticket={ticket}", url.replace("http://", "ws://"));
        tokio_tungstenite::connect_async(ws_url).await.expect("ws connect").0
    });
    // The server is now waiting for the lock, before or after its 101.
    crate::helpers::eventually(30, || {
        let pool = state.db.pool.clone();
        async move {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'events' AND NOT l.granted",
            )
            .fetch_one(&pool)
            .await
            .expect("pg_locks");
            (row.try_get::<i64, _>("n").expect("n") > 0).then_some(())
        }
    })
    .await;
    let probe = |n: usize| ServerEvent::Presence { agent_id: format!("probe-{n}"), available: true };
    let mut connect = connect;
    let ws = match tokio::time::timeout(std::time::Duration::from_secs(3), &mut connect).await {
        // The client has seen the socket open: an event committed now is live.
        Ok(ws) => {
            let staged = state.hub.stage(&mut tx, &tenant, None, &probe(1)).await.expect("stage");
            tx.commit().await.expect("commit");
            state.hub.flush(vec![staged]);
            ws.expect("connect task")
        }
        // The handshake waits until the server knows where the socket starts.
        Err(_) => {
            tx.rollback().await.expect("rollback");
            let ws = connect.await.expect("connect task");
            state.hub.publish(&tenant, None, &probe(1)).await.expect("publish");
            ws
        }
    };
    let mut ws = crate::helpers::Ws::from_stream(ws);
    let ev = ws.until(10, |e| matches!(&e.event, ServerEvent::Presence { agent_id, .. } if agent_id == "probe-1")).await;
    assert!(ev.id.is_some());
    ws.close().await;
    crate::helpers::announce("backend postgres: ran postgres_socket_gets_events_committed_after_it_opened");
    app.stop().await;
}

/// With PostgreSQL, an event committed while this process's listener is disconnected
/// (here: its backend terminated, and new connections refused until the event is in)
/// still reaches a socket: once listening again, the hub tells every socket to catch up
/// from the database. Before, notifications sent during the gap were lost for good (a
/// NOTIFY reaches only sessions listening at the time; sqlx's listener even reconnects
/// silently).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_committed_while_the_listener_is_down_arrive() {
    use sqlx::Row;
    let Some(app) = crate::helpers::spawn_app_pg().await else {
        crate::helpers::announce(
            "backend postgres: NOT RUN for postgres_events_committed_while_the_listener_is_down_arrive (MPT_TEST_DATABASE_URL unset)",
        );
        return;
    };
    let s = app.demo_agent().await;
    let tenant = s.agent.tenant_id.clone();
    let state = app.state().clone();
    let mut ws = app.ws(&s.access_token, None).await;
    ws.until(5, |e| matches!(e.event, ServerEvent::Hello { .. })).await;
    let mut conn = state.db.pool.acquire().await.expect("connection");
    let db: String = sqlx::query("SELECT current_database()::text AS d").fetch_one(&mut *conn).await.expect("db").try_get("d").expect("d");
    // The test database cannot refuse connections from inside: ask from the admin one.
    let admin = sqlx::AnyPool::connect(&std::env::var("MPT_TEST_DATABASE_URL").expect("url")).await.expect("admin");
    let allow = |on: bool| format!("ALTER DATABASE {db} ALLOW_CONNECTIONS {on}");
    sqlx::query(&allow(false)).execute(&admin).await.expect("refuse new connections");
    let listener_pid = format!("SELECT pid FROM pg_stat_activity WHERE datname = '{db}' AND query LIKE 'LISTEN %'");
    let pids: Vec<i32> =
        sqlx::query(&listener_pid).fetch_all(&admin).await.expect("listener").iter().map(|r| r.try_get("pid").expect("pid")).collect();
    assert_eq!(pids.len(), 1, "one listener: {pids:?}");
    sqlx::query("SELECT pg_terminate_backend($1)").bind(pids[0]).execute(&admin).await.expect("terminate");
    for _ in 0..400 {
        if sqlx::query(&listener_pid).fetch_all(&admin).await.expect("listener").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(sqlx::query(&listener_pid).fetch_all(&admin).await.expect("listener").is_empty(), "listener still there");
    // Committed while nobody of ours listens.
    let probe = ServerEvent::Presence { agent_id: "probe-gap".into(), available: true };
    let mut tx = sqlx::Acquire::begin(&mut *conn).await.expect("begin");
    state.hub.stage(&mut tx, &tenant, None, &probe).await.expect("stage");
    tx.commit().await.expect("commit");
    sqlx::query(&allow(true)).execute(&admin).await.expect("accept connections again");
    admin.close().await;
    drop(conn);
    let ev = ws.until(15, |e| matches!(&e.event, ServerEvent::Presence { agent_id, .. } if agent_id == "probe-gap")).await;
    assert!(ev.id.is_some());
    // And live events flow again afterwards.
    let after = ServerEvent::Presence { agent_id: "probe-after".into(), available: true };
    state.hub.publish(&tenant, None, &after).await.expect("publish");
    ws.until(15, |e| matches!(&e.event, ServerEvent::Presence { agent_id, .. } if agent_id == "probe-after")).await;
    ws.close().await;
    crate::helpers::announce("backend postgres: ran postgres_events_committed_while_the_listener_is_down_arrive");
    app.stop().await;
}
