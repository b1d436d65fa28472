//! WebSocket behaviour with real clients: chat, sync, notifications, presence, errors,
//! limits and the slow-client guard.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

fn chat_path(other: i64, token: &str) -> String {
    format!("/ws/chat/{other}/?token={token}")
}

#[actix_rt::test]
async fn chat_both_directions_reaches_every_socket() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let tunde = app.sign_in_fixture(TUNDE).await;
    let mut ada_phone = app.ws(&chat_path(TUNDE_ID, &ada.access)).await;
    let mut ada_laptop = app.ws(&chat_path(TUNDE_ID, &ada.access)).await;
    let mut tunde_phone = app.ws(&chat_path(ADA_ID, &tunde.access)).await;
    let mut tunde_tablet = app.ws(&chat_path(ADA_ID, &tunde.access)).await;

    ada_phone
        .send_json(&json!({"message": "Hello Tunde"}))
        .await;
    for socket in [
        &mut ada_phone,
        &mut ada_laptop,
        &mut tunde_phone,
        &mut tunde_tablet,
    ] {
        let frame = socket.next_of_type("chat_message").await;
        assert_eq!(frame["message"], "Hello Tunde");
        assert_eq!(frame["user_id"], ADA_ID);
        assert_eq!(frame["email"], ADA);
        assert!(frame["timestamp"]
            .as_str()
            .expect("timestamp")
            .ends_with('Z'));
        assert!(frame["message_id"].is_i64() && frame["chat_id"].is_i64());
    }

    tunde_tablet
        .send_json(&json!({"type": "chat_message", "message": "Hi Ada, welcome"}))
        .await;
    for socket in [
        &mut ada_phone,
        &mut ada_laptop,
        &mut tunde_phone,
        &mut tunde_tablet,
    ] {
        let frame = socket.next_of_type("chat_message").await;
        assert_eq!(frame["message"], "Hi Ada, welcome");
        assert_eq!(frame["user_id"], TUNDE_ID);
    }

    let room = json_body(
        app.post(
            "/notification-chat/chats/initiate/",
            &json!({"user": TUNDE_ID}),
            Some(&ada.access),
        )
        .await,
    )
    .await;
    let history = json_body(
        app.get(
            &format!(
                "/notification-chat/chat/messages/?chat_id={}",
                room["chat_id"]
            ),
            Some(&ada.access),
        )
        .await,
    )
    .await;
    let texts: Vec<&str> = history
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["message"].as_str())
        .collect();
    assert_eq!(
        &texts[texts.len() - 2..],
        &["Hello Tunde", "Hi Ada, welcome"],
        "both messages are stored in order"
    );
    let rooms = json_body(
        app.get("/notification-chat/chats/", Some(&ada.access))
            .await,
    )
    .await;
    let first = &rooms[0];
    assert_eq!(
        first["contributor"]["id"], TUNDE_ID,
        "the room just used comes first"
    );
    assert_eq!(first["last_message"]["message"], "Hi Ada, welcome");
}

#[actix_rt::test]
async fn sync_after_reconnect_replays_missed_messages() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let kemi = app.sign_in_fixture(KEMI).await;
    let mut ada_socket = app.ws(&chat_path(KEMI_ID, &ada.access)).await;
    let mut kemi_socket = app.ws(&chat_path(ADA_ID, &kemi.access)).await;

    ada_socket
        .send_json(&json!({"message": "before the tunnel"}))
        .await;
    // Ada's own copy of each message shows the registry has delivered it, so Kemi's new
    // socket joins the room only after every message below went out.
    ada_socket.next_of_type("chat_message").await;
    let seen = kemi_socket.next_of_type("chat_message").await;
    let last_seen = seen["message_id"].as_i64().expect("id");
    kemi_socket.close().await;

    let missed: Vec<String> = (0..7).map(|n| format!("while away {n}")).collect();
    for text in &missed {
        ada_socket.send_json(&json!({"message": text})).await;
        ada_socket.next_of_type("chat_message").await;
    }

    let mut kemi_socket = app.ws(&chat_path(ADA_ID, &kemi.access)).await;
    kemi_socket
        .send_json(&json!({"type": "sync", "after": last_seen}))
        .await;
    let mut replayed = Vec::new();
    let mut last_id = last_seen;
    loop {
        let frame = kemi_socket.next_json().await;
        match frame["type"].as_str() {
            Some("chat_message") => {
                let id = frame["message_id"].as_i64().expect("id");
                assert!(id > last_id, "replay is in order");
                last_id = id;
                replayed.push(frame["message"].as_str().expect("text").to_owned());
            }
            Some("synced") => {
                assert_eq!(frame["last_message_id"], last_id);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(replayed, missed, "nothing is lost or duplicated");
}

#[actix_rt::test]
async fn sync_pages_through_long_backlog() {
    let app = spawn_app_with(|settings| {
        settings.realtime.sync_page_size = 3;
        settings.realtime.messages_per_second = 1000;
    })
    .await;
    let ada = app.sign_in_fixture(ADA).await;
    let mut socket = app.ws(&chat_path(KEMI_ID, &ada.access)).await;
    for n in 0..10 {
        socket.send_json(&json!({"message": format!("m{n}")})).await;
        socket.next_of_type("chat_message").await;
    }
    let mut fresh = app.ws(&chat_path(KEMI_ID, &ada.access)).await;
    fresh.send_json(&json!({"type": "sync", "after": 0})).await;
    let mut count = 0;
    loop {
        let frame = fresh.next_json().await;
        if frame["type"] == "synced" {
            break;
        }
        if frame["type"] == "chat_message" {
            count += 1;
        }
    }
    assert!(
        count >= 10,
        "every stored message is replayed across pages, got {count}"
    );
}

#[actix_rt::test]
async fn sync_delivers_live_messages_once() {
    let app = spawn_app_with(|settings| {
        settings.realtime.sync_page_size = 2;
        settings.realtime.messages_per_second = 1000;
    })
    .await;
    let ada = app.sign_in_fixture(ADA).await;
    let kemi = app.sign_in_fixture(KEMI).await;
    let mut ada_socket = app.ws(&chat_path(KEMI_ID, &ada.access)).await;
    let mut sent = Vec::new();
    for n in 0..10 {
        let text = format!("backlog {n}");
        ada_socket.send_json(&json!({"message": text})).await;
        ada_socket.next_of_type("chat_message").await;
        sent.push(text);
    }

    let mut kemi_socket = app.ws(&chat_path(ADA_ID, &kemi.access)).await;
    kemi_socket
        .send_json(&json!({"type": "sync", "after": 0}))
        .await;
    // Sent without waiting, so that some are stored while the replay is under way and
    // reach Kemi's socket live as well as in a replayed page.
    for n in 0..6 {
        let text = format!("during {n}");
        ada_socket.send_json(&json!({"message": text})).await;
        sent.push(text);
    }

    // The fixture room may hold older messages, and those come first.
    let last_sent = sent.last().expect("messages were sent").clone();
    let mut received: Vec<String> = Vec::new();
    let mut last_id = 0;
    let mut synced = false;
    loop {
        let frame = kemi_socket.next_json().await;
        match frame["type"].as_str() {
            Some("chat_message") => {
                let id = frame["message_id"].as_i64().expect("id");
                assert!(id > last_id, "message {id} came after {last_id}");
                last_id = id;
                received.push(frame["message"].as_str().expect("text").to_owned());
            }
            Some("synced") => synced = true,
            _ => {}
        }
        if synced && received.last() == Some(&last_sent) {
            break;
        }
    }
    let tail = &received[received.len() - sent.len()..];
    assert_eq!(tail, sent, "every message once, in the order sent");
}

#[actix_rt::test]
async fn message_to_absent_user_becomes_notification() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let tunde = app.sign_in_fixture(TUNDE).await;
    let mut tunde_notifications = app
        .ws(&format!("/ws/notification/?token={}", tunde.access))
        .await;
    let mut ada_chat = app.ws(&chat_path(TUNDE_ID, &ada.access)).await;

    ada_chat
        .send_json(&json!({"message": "Are you free on Saturday?"}))
        .await;
    let frame = tunde_notifications.next_of_type("notification").await;
    assert!(
        frame["message"].as_str().expect("text").contains("Ada"),
        "{frame}"
    );
    assert_eq!(frame["page"], "chat");
    assert!(frame["route"]
        .as_str()
        .expect("route")
        .starts_with("/chat/?chat_id="));
    assert!(frame["obj_id"].is_string() && frame["id"].is_i64());

    let listed = json_body(
        app.get("/notification-chat/notifications/", Some(&tunde.access))
            .await,
    )
    .await;
    assert_eq!(
        listed["results"][0]["id"], frame["id"],
        "the pushed notification is listed by REST"
    );

    // With a chat socket of Tunde in the room, no notification is created.
    let mut tunde_chat = app.ws(&chat_path(ADA_ID, &tunde.access)).await;
    ada_chat
        .send_json(&json!({"message": "Great, see you"}))
        .await;
    tunde_chat.next_of_type("chat_message").await;
    tunde_notifications
        .assert_no_frame_of_type("notification", Duration::from_millis(500))
        .await;
}

#[actix_rt::test]
async fn notifier_pushes_to_every_notification_socket() {
    let app = spawn_app().await;
    let chinedu = app.sign_in_fixture(CHINEDU).await;
    let mut first = app
        .ws(&format!("/ws/notification/?token={}", chinedu.access))
        .await;
    let mut second = app
        .ws(&format!("/ws/notification/?token={}", chinedu.access))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.state
        .notifier
        .send(careernexus_actors::notifications::Notify {
            user_id: careernexus_actors::ids::UserId(CHINEDU_ID),
            text: "Someone just liked your post.".to_owned(),
            page: "post".to_owned(),
            route: "/post/?post_id=12".to_owned(),
            obj_id: "12".to_owned(),
        })
        .await
        .expect("notifier answers")
        .expect("stored");
    for socket in [&mut first, &mut second] {
        let frame = socket.next_of_type("notification").await;
        assert_eq!(frame["message"], "Someone just liked your post.");
        assert_eq!(frame["route"], "/post/?post_id=12");
    }

    let mut jobs = app
        .ws(&format!("/ws/notification/jobs/?token={}", chinedu.access))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.state
        .notifier
        .do_send(careernexus_actors::notifications::JobAlert {
            user_ids: vec![careernexus_actors::ids::UserId(CHINEDU_ID)],
            job_id: 12,
            message: "New job: Backend Developer at Acme".to_owned(),
        });
    let alert = jobs.next_of_type("job_alert").await;
    assert_eq!(alert["job_id"], 12);
    first
        .assert_no_frame_of_type("job_alert", Duration::from_millis(300))
        .await;
}

#[actix_rt::test]
async fn sockets_refuse_bad_tokens_before_upgrade() {
    let app = spawn_app_with(|settings| settings.auth.access_token_lifetime_secs = 1).await;
    let ada = app.sign_in_fixture(ADA).await;
    for path in ["/ws/notification/", "/ws/notification/jobs/", "/ws/chat/2/"] {
        assert_eq!(
            app.try_ws(path).await.err(),
            Some(401),
            "{path} without token"
        );
        assert_eq!(
            app.try_ws(&format!("{path}?token=garbage")).await.err(),
            Some(401),
            "{path} bad token"
        );
        assert_eq!(
            app.try_ws(&format!("{path}?token={}", ada.refresh))
                .await
                .err(),
            Some(401),
            "{path} refresh token"
        );
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        app.try_ws(&format!("/ws/notification/?token={}", ada.access))
            .await
            .err(),
        Some(401),
        "expired token"
    );

    let body = app
        .client
        .get(app.url("/ws/notification/"))
        .send()
        .await
        .expect("request");
    assert_eq!(body.status(), 401);
    assert!(
        json_body(body).await["detail"].is_string(),
        "the 401 has a JSON body"
    );
}

#[actix_rt::test]
async fn chat_socket_refuses_strangers_self_and_unknown() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let stranger = app
        .sign_up(&unique_email("lurker"), "Harbor#2026x", None)
        .await;
    assert_eq!(
        app.try_ws(&chat_path(ADA_ID, &stranger.access)).await.err(),
        Some(403)
    );
    assert_eq!(
        app.try_ws(&chat_path(ADA_ID, &ada.access)).await.err(),
        Some(400)
    );
    assert_eq!(
        app.try_ws(&chat_path(999_999, &ada.access)).await.err(),
        Some(404)
    );
    assert_eq!(
        app.try_ws(&format!("/ws/chat/abc/?token={}", ada.access))
            .await
            .err(),
        Some(400)
    );
}

#[actix_rt::test]
async fn bad_frames_get_error_frames_and_socket_survives() {
    let app = spawn_app_with(|settings| settings.realtime.max_message_chars = 50).await;
    let ada = app.sign_in_fixture(ADA).await;
    let mut socket = app.ws(&chat_path(TUNDE_ID, &ada.access)).await;
    let cases = [
        ("not json at all", "invalid_json"),
        ("[1, 2, 3]", "invalid_json"),
        (r#"{"type": "dance"}"#, "unknown_type"),
        (r#"{"type": "chat_message"}"#, "missing_message"),
        (r#"{"message": "   "}"#, "missing_message"),
        (
            r#"{"type": "read", "message_id": "x"}"#,
            "invalid_message_id",
        ),
    ];
    for (text, code) in cases {
        socket.send_text(text).await;
        let frame = socket.next_of_type("error").await;
        assert_eq!(frame["code"], code, "{text}");
        assert!(frame["detail"].is_string());
    }
    let long = "é".repeat(51);
    socket.send_json(&json!({"message": long})).await;
    assert_eq!(
        socket.next_of_type("error").await["code"],
        "message_too_long"
    );

    socket.send_raw(Message::binary(vec![1u8, 2, 3])).await;
    assert_eq!(
        socket.next_of_type("error").await["code"],
        "unsupported_frame"
    );

    let header = FrameHeader {
        opcode: OpCode::Data(Data::Text),
        is_final: true,
        ..FrameHeader::default()
    };
    socket
        .send_raw(Message::Frame(Frame::from_payload(
            header,
            vec![0xff, 0xfe, 0x41].into(),
        )))
        .await;
    assert_eq!(socket.next_of_type("error").await["code"], "invalid_utf8");

    socket.send_json(&json!({"type": "ping"})).await;
    assert_eq!(socket.next_of_type("pong").await["type"], "pong");
    socket.send_json(&json!({"message": "still here"})).await;
    assert_eq!(
        socket.next_of_type("chat_message").await["message"],
        "still here"
    );
}

#[actix_rt::test]
async fn rate_limit_drops_excess_frames() {
    let app = spawn_app_with(|settings| settings.realtime.messages_per_second = 3).await;
    let ada = app.sign_in_fixture(ADA).await;
    let mut socket = app.ws(&chat_path(TUNDE_ID, &ada.access)).await;
    for n in 0..10 {
        socket
            .send_json(&json!({"message": format!("burst {n}")}))
            .await;
    }
    let mut limited = 0;
    let mut delivered = 0;
    while let WsEvent::Json(frame) = socket.next_event(Duration::from_millis(700)).await {
        match frame["type"].as_str() {
            Some("error") if frame["code"] == "rate_limited" => limited += 1,
            Some("chat_message") => delivered += 1,
            _ => {}
        }
    }
    assert_eq!(delivered, 3, "a burst of the configured size passes");
    assert_eq!(limited, 7);
}

#[actix_rt::test]
async fn oversized_frame_closes_with_1009() {
    let app = spawn_app_with(|settings| settings.realtime.max_frame_bytes = 1024).await;
    let ada = app.sign_in_fixture(ADA).await;
    let mut socket = app.ws(&chat_path(TUNDE_ID, &ada.access)).await;
    socket
        .send_json(&json!({"message": "x".repeat(4096)}))
        .await;
    assert_eq!(
        socket.expect_close(Duration::from_secs(5)).await,
        Some(1009)
    );
}

#[actix_rt::test]
async fn notification_socket_accepts_only_ping() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let mut socket = app
        .ws(&format!("/ws/notification/?token={}", ada.access))
        .await;
    socket.send_json(&json!({"message": "hello?"})).await;
    assert_eq!(socket.next_of_type("error").await["code"], "unknown_type");
    socket.send_json(&json!({"type": "ping"})).await;
    socket.next_of_type("pong").await;
}

#[actix_rt::test]
async fn typing_and_read_receipts_relay_to_other_participant() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let tunde = app.sign_in_fixture(TUNDE).await;
    let mut ada_socket = app.ws(&chat_path(TUNDE_ID, &ada.access)).await;
    let mut tunde_socket = app.ws(&chat_path(ADA_ID, &tunde.access)).await;

    ada_socket.send_json(&json!({"type": "typing"})).await;
    assert_eq!(tunde_socket.next_of_type("typing").await["user_id"], ADA_ID);
    ada_socket
        .assert_no_frame_of_type("typing", Duration::from_millis(300))
        .await;

    ada_socket.send_json(&json!({"message": "Read this"})).await;
    let message = tunde_socket.next_of_type("chat_message").await;
    let rooms = json_body(
        app.get("/notification-chat/chats/", Some(&tunde.access))
            .await,
    )
    .await;
    let room = rooms
        .as_array()
        .expect("list")
        .iter()
        .find(|r| r["contributor"]["id"] == ADA_ID)
        .expect("room")
        .clone();
    assert!(room["unread_count"].as_u64().expect("count") >= 1);

    tunde_socket
        .send_json(&json!({"type": "read", "message_id": message["message_id"]}))
        .await;
    let receipt = ada_socket.next_of_type("read").await;
    assert_eq!(receipt["user_id"], TUNDE_ID);
    assert_eq!(receipt["message_id"], message["message_id"]);
    let rooms = json_body(
        app.get("/notification-chat/chats/", Some(&tunde.access))
            .await,
    )
    .await;
    let room = rooms
        .as_array()
        .expect("list")
        .iter()
        .find(|r| r["contributor"]["id"] == ADA_ID)
        .expect("room")
        .clone();
    assert_eq!(room["unread_count"], 0, "the read marker is stored");
}

#[actix_rt::test]
async fn presence_events_reach_chat_partners() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let tunde = app.sign_in_fixture(TUNDE).await;
    let mut ada_notifications = app
        .ws(&format!("/ws/notification/?token={}", ada.access))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let tunde_socket = app
        .ws(&format!("/ws/notification/?token={}", tunde.access))
        .await;
    let online = ada_notifications.next_of_type("presence").await;
    assert_eq!(online["user_id"], TUNDE_ID);
    assert_eq!(online["online"], true);

    tunde_socket.close().await;
    let offline = ada_notifications.next_of_type("presence").await;
    assert_eq!(offline["user_id"], TUNDE_ID);
    assert_eq!(offline["online"], false);
    assert!(offline["last_seen"]
        .as_str()
        .expect("last_seen")
        .ends_with('Z'));
}

#[actix_rt::test]
async fn signout_and_deletion_close_sockets_with_4401() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let other_session = app.sign_in_fixture(ADA).await;
    let mut socket = app
        .ws(&format!("/ws/notification/?token={}", ada.access))
        .await;
    let mut other_socket = app
        .ws(&format!("/ws/notification/?token={}", other_session.access))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    app.post(
        "/user/signout/",
        &json!({"refresh": ada.refresh}),
        Some(&ada.access),
    )
    .await;
    assert_eq!(
        socket.expect_close(Duration::from_secs(5)).await,
        Some(4401)
    );
    other_socket.send_json(&json!({"type": "ping"})).await;
    other_socket.next_of_type("pong").await;
    let revoked = app
        .try_ws(&format!("/ws/notification/?token={}", ada.access))
        .await;
    assert_eq!(
        revoked.err(),
        Some(401),
        "a signed-out token opens no socket"
    );

    let email = unique_email("closing");
    let session = app.sign_up(&email, "Harbor#2026x", None).await;
    let mut doomed = app
        .ws(&format!("/ws/notification/?token={}", session.access))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.delete(
        "/user/delete/",
        Some(&json!({"email": email})),
        Some(&session.access),
    )
    .await;
    assert_eq!(
        doomed.expect_close(Duration::from_secs(5)).await,
        Some(4401)
    );
    let deleted = app
        .try_ws(&format!("/ws/notification/?token={}", session.access))
        .await;
    assert_eq!(
        deleted.err(),
        Some(401),
        "a deleted user's token opens no socket"
    );
}

#[actix_rt::test]
async fn slow_client_is_closed_and_others_unaffected() {
    let app = spawn_app_with(|settings| {
        settings.realtime.max_queued_frames = 64;
        settings.realtime.messages_per_second = 100_000;
    })
    .await;
    let ada = app.sign_in_fixture(ADA).await;
    let tunde = app.sign_in_fixture(TUNDE).await;

    // A client with a tiny receive buffer that never reads.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("buffer size");
    let stream = socket
        .connect(([127, 0, 0, 1], app.port).into())
        .await
        .expect("connect");
    let url = format!(
        "ws://127.0.0.1:{}{}",
        app.port,
        chat_path(ADA_ID, &tunde.access)
    );
    let (mut slow, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("slow socket opens");

    // A healthy socket of the same user reads everything, and the sender drains its
    // echoes, each in its own task. The sender never runs more than a window of messages
    // ahead of them, as a healthy client keeps up, and goes on until the slow socket is
    // evicted.
    let healthy = app.ws(&chat_path(ADA_ID, &tunde.access)).await.into_inner();
    let sender = app.ws(&chat_path(TUNDE_ID, &ada.access)).await.into_inner();
    let (mut sender_sink, sender_stream) = sender.split();
    let healthy_seen = Arc::new(AtomicUsize::new(0));
    let echoes_seen = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(AtomicUsize::new(usize::MAX));
    let healthy_reader = actix_rt::spawn(count_chat_frames(
        healthy,
        healthy_seen.clone(),
        target.clone(),
        true,
    ));
    let echo_drain = actix_rt::spawn(count_chat_frames(
        sender_stream,
        echoes_seen.clone(),
        target.clone(),
        false,
    ));

    let text = "z".repeat(3000);
    let window = 25;
    let mut sent = 0;
    let mut evicted = 0;
    while sent < 20_000 {
        let frame = json!({"message": format!("{sent} {text}")}).to_string();
        sender_sink.send(Message::text(frame)).await.expect("sent");
        sent += 1;
        let waited_since = tokio::time::Instant::now();
        while sent > healthy_seen.load(Ordering::Acquire) + window
            || sent > echoes_seen.load(Ordering::Acquire) + window
        {
            assert!(
                waited_since.elapsed() < Duration::from_secs(20),
                "healthy readers stalled at {sent}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if sent % 50 == 0 {
            let stats = app
                .state
                .registry
                .send(careernexus_actors::realtime::registry::GetRegistryStats)
                .await
                .expect("registry answers");
            evicted = stats.evicted;
            if evicted > 0 {
                break;
            }
        }
    }
    assert_eq!(
        evicted, 1,
        "only the slow socket was evicted, after {sent} messages"
    );
    target.store(sent, Ordering::Release);
    let (_, healthy_count) = healthy_reader.await.expect("reader task");
    assert_eq!(
        healthy_count, sent,
        "the healthy socket received every message"
    );
    let (sender_stream, _) = echo_drain.await.expect("drain task");

    // When the slow client finally reads, it finds the 1013 close after what was buffered.
    let mut code = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, slow.next()).await {
        match message {
            Ok(Message::Close(frame)) => {
                code = frame.map(|frame| u16::from(frame.code));
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    assert_eq!(code, Some(1013));
    let _ = slow.close(None).await;

    let stats = app
        .state
        .registry
        .send(careernexus_actors::realtime::registry::GetRegistryStats)
        .await
        .expect("registry answers");
    assert_eq!(stats.evicted, 1, "no other socket was evicted meanwhile");

    // The sender's socket is still healthy.
    let mut sender = sender_sink.reunite(sender_stream).expect("same socket");
    sender
        .send(Message::text(r#"{"type": "ping"}"#))
        .await
        .expect("ping sent");
    let mut pong = false;
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_secs(5), sender.next()).await
    {
        if message.to_text().is_ok_and(|text| text.contains("pong")) {
            pong = true;
            break;
        }
    }
    assert!(pong, "the sender's socket still answers");
}

/// Reads chat frames until `target` of them arrived, counting them in `seen`; with
/// `check_order`, the number leading each message must count up from 0.
async fn count_chat_frames<S>(
    mut stream: S,
    seen: Arc<AtomicUsize>,
    target: Arc<AtomicUsize>,
    check_order: bool,
) -> (S, usize)
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut count = 0;
    while count < target.load(Ordering::Acquire) {
        match tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let frame: Value = serde_json::from_str(text.as_str()).expect("json");
                if frame["type"] != "chat_message" {
                    continue;
                }
                if check_order {
                    let n: usize = frame["message"]
                        .as_str()
                        .expect("text")
                        .split(' ')
                        .next()
                        .expect("n")
                        .parse()
                        .expect("number");
                    assert_eq!(n, count, "messages arrive in order without gaps");
                }
                count += 1;
                seen.store(count, Ordering::Release);
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                panic!("socket closed after {count} messages: {frame:?}")
            }
            Ok(Some(Ok(_))) | Err(_) => {}
            other => panic!("socket failed after {count} messages: {other:?}"),
        }
    }
    (stream, count)
}
