//! Chat rooms, history and notifications over REST.

use serde_json::json;

use crate::helpers::*;

#[actix_rt::test]
async fn list_chats_shows_rooms_with_last_message() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let response = app
        .get("/notification-chat/chats/", Some(&ada.access))
        .await;
    assert_eq!(response.status(), 200);
    let rooms = json_body(response).await;
    let rooms = rooms.as_array().expect("plain list");
    assert!(
        rooms.len() >= 2,
        "Ada has fixture rooms with Tunde and Kemi"
    );
    let contributor = &rooms[0]["contributor"];
    for field in [
        "id",
        "first_name",
        "last_name",
        "middle_name",
        "profile_photo",
        "qualification",
        "user_type",
        "online",
    ] {
        assert!(
            contributor.get(field).is_some(),
            "contributor lacks {field}"
        );
    }
    assert!(rooms[0]["chat_id"].is_i64());
    assert!(rooms[0]["last_message"]["message"].is_string());
    assert!(rooms[0]["unread_count"].is_u64());
    let times: Vec<&str> = rooms
        .iter()
        .filter_map(|room| room["last_message"]["timestamp"].as_str())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "rooms are ordered by latest activity");
    assert_eq!(
        app.get("/notification-chat/chats/", None).await.status(),
        401
    );
}

#[actix_rt::test]
async fn initiate_returns_existing_or_new_room() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let first = json_body(
        app.post(
            "/notification-chat/chats/initiate/",
            &json!({"user": TUNDE_ID}),
            Some(&ada.access),
        )
        .await,
    )
    .await;
    let again = json_body(
        app.post(
            "/notification-chat/chats/initiate/",
            &json!({"user": TUNDE_ID.to_string()}),
            Some(&ada.access),
        )
        .await,
    )
    .await;
    assert_eq!(first["chat_id"], again["chat_id"], "one room per pair");
    assert_eq!(first["contributor"]["id"], TUNDE_ID);

    // Chinedu and Kemi are not connected in the fixtures; connect them, then a new room appears.
    let chinedu = app.sign_in_fixture(CHINEDU).await;
    let refused = app
        .post(
            "/notification-chat/chats/initiate/",
            &json!({"user": KEMI_ID}),
            Some(&chinedu.access),
        )
        .await;
    if refused.status() == 403 {
        connect_users(&app, CHINEDU_ID, KEMI_ID).await;
    }
    let response = app
        .post(
            "/notification-chat/chats/initiate/",
            &json!({"user": KEMI_ID}),
            Some(&chinedu.access),
        )
        .await;
    assert_eq!(response.status(), 200);
    let room = json_body(response).await;
    assert_eq!(room["contributor"]["id"], KEMI_ID);
    assert!(room["last_message"].is_null());
}

#[actix_rt::test]
async fn initiate_rejects_self_unknown_and_strangers() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let own = app
        .post(
            "/notification-chat/chats/initiate/",
            &json!({"user": ADA_ID}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(own.status(), 400);
    assert_field_error(&json_body(own).await, "user");
    let unknown = app
        .post(
            "/notification-chat/chats/initiate/",
            &json!({"user": 999999}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(unknown.status(), 404);
    let missing = app
        .post(
            "/notification-chat/chats/initiate/",
            &json!({}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(missing.status(), 400);
    assert_field_error(&json_body(missing).await, "user");
    let wrong_type = app
        .post(
            "/notification-chat/chats/initiate/",
            &json!({"user": "seven"}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(wrong_type.status(), 400);

    let stranger = app
        .sign_up(&unique_email("stranger"), "Harbor#2026x", None)
        .await;
    let refused = app
        .post(
            "/notification-chat/chats/initiate/",
            &json!({"user": ADA_ID}),
            Some(&stranger.access),
        )
        .await;
    assert_eq!(refused.status(), 403, "only connected users may chat");
}

#[actix_rt::test]
async fn history_is_oldest_first_and_pages_by_id() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let room = json_body(
        app.post(
            "/notification-chat/chats/initiate/",
            &json!({"user": TUNDE_ID}),
            Some(&ada.access),
        )
        .await,
    )
    .await;
    let chat_id = room["chat_id"].as_i64().expect("chat id");

    let response = app
        .get(
            &format!("/notification-chat/chat/messages/?chat_id={chat_id}"),
            Some(&ada.access),
        )
        .await;
    assert_eq!(response.status(), 200);
    let messages = json_body(response).await;
    let messages = messages.as_array().expect("plain list");
    assert!(messages.len() >= 3, "fixture room has messages");
    let ids: Vec<i64> = messages
        .iter()
        .map(|m| m["message_id"].as_i64().expect("id"))
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "oldest first");
    let person = &messages[0]["person"];
    for field in [
        "id",
        "first_name",
        "last_name",
        "middle_name",
        "profile_photo",
        "qualification",
        "user_type",
    ] {
        assert!(person.get(field).is_some(), "person lacks {field}");
    }
    assert!(messages[0]["timestamp"]
        .as_str()
        .expect("timestamp")
        .ends_with('Z'));

    let last = ids[ids.len() - 1];
    let older = json_body(
        app.get(
            &format!("/notification-chat/chat/messages/?chat_id={chat_id}&before={last}&limit=2"),
            Some(&ada.access),
        )
        .await,
    )
    .await;
    let older_ids: Vec<i64> = older
        .as_array()
        .expect("list")
        .iter()
        .map(|m| m["message_id"].as_i64().expect("id"))
        .collect();
    assert_eq!(older_ids, ids[ids.len() - 3..ids.len() - 1].to_vec());
    let newer = json_body(
        app.get(
            &format!(
                "/notification-chat/chat/messages/?chat_id={chat_id}&after={}",
                ids[0]
            ),
            Some(&ada.access),
        )
        .await,
    )
    .await;
    assert_eq!(newer.as_array().expect("list").len(), ids.len() - 1);
}

#[actix_rt::test]
async fn history_refuses_strangers_and_bad_ids() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let room = json_body(
        app.post(
            "/notification-chat/chats/initiate/",
            &json!({"user": TUNDE_ID}),
            Some(&ada.access),
        )
        .await,
    )
    .await;
    let chat_id = room["chat_id"].as_i64().expect("chat id");

    let chinedu = app.sign_in_fixture(CHINEDU).await;
    let stranger = app
        .get(
            &format!("/notification-chat/chat/messages/?chat_id={chat_id}"),
            Some(&chinedu.access),
        )
        .await;
    assert_eq!(
        stranger.status(),
        404,
        "a room one is not in does not exist for them"
    );
    let missing = app
        .get("/notification-chat/chat/messages/", Some(&ada.access))
        .await;
    assert_eq!(missing.status(), 400);
    assert_field_error(&json_body(missing).await, "chat_id");
    assert_eq!(
        app.get(
            "/notification-chat/chat/messages/?chat_id=abc",
            Some(&ada.access)
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        app.get(
            "/notification-chat/chat/messages/?chat_id=999999",
            Some(&ada.access)
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        app.get(
            &format!("/notification-chat/chat/messages/?chat_id={chat_id}"),
            None
        )
        .await
        .status(),
        401
    );
}

#[actix_rt::test]
async fn notifications_list_paginates_and_clears() {
    let app = spawn_app().await;
    let chinedu = app.sign_in_fixture(CHINEDU).await;
    for n in 0..12 {
        app.state
            .notifier
            .send(careernexus_actors::notifications::Notify {
                user_id: careernexus_actors::ids::UserId(CHINEDU_ID),
                text: format!("Someone just liked your post {n}."),
                page: "post".to_owned(),
                route: format!("/post/?post_id={n}"),
                obj_id: n.to_string(),
            })
            .await
            .expect("notifier answers")
            .expect("stored");
    }
    let response = app
        .get("/notification-chat/notifications/", Some(&chinedu.access))
        .await;
    assert_eq!(response.status(), 200);
    let page = json_body(response).await;
    assert_eq!(page["count"], 12);
    assert_eq!(page["results"].as_array().expect("list").len(), 10);
    assert!(page["next"].as_str().expect("next").contains("page=2"));
    let newest = &page["results"][0];
    assert_eq!(newest["text"], "Someone just liked your post 11.");
    assert_eq!(newest["route"], "/post/?post_id=11");
    assert_eq!(newest["obj_id"], "11");
    assert!(newest["id"].is_i64() && newest["timestamp"].is_string());

    let ada = app.sign_in_fixture(ADA).await;
    let others = json_body(
        app.get("/notification-chat/notifications/", Some(&ada.access))
            .await,
    )
    .await;
    assert!(others["results"]
        .as_array()
        .expect("list")
        .iter()
        .all(|n| !n["text"].as_str().unwrap_or("").contains("post 11")));

    assert_eq!(
        app.delete(
            "/notification-chat/notifications/",
            None,
            Some(&chinedu.access)
        )
        .await
        .status(),
        204
    );
    let cleared = json_body(
        app.get("/notification-chat/notifications/", Some(&chinedu.access))
            .await,
    )
    .await;
    assert_eq!(cleared["count"], 0);
    assert_eq!(
        app.get(
            "/notification-chat/notifications/?page=abc",
            Some(&chinedu.access)
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        app.delete("/notification-chat/notifications/", None, None)
            .await
            .status(),
        401
    );
}

#[actix_rt::test]
async fn presence_endpoint_reports_state() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let tunde = app.sign_in_fixture(TUNDE).await;
    let offline = json_body(
        app.get(
            &format!("/notification-chat/presence/?user_id={TUNDE_ID}"),
            Some(&ada.access),
        )
        .await,
    )
    .await;
    assert_eq!(offline["online"], false);

    let socket = app
        .ws(&format!("/ws/notification/?token={}", tunde.access))
        .await;
    let mut online = false;
    for _ in 0..50 {
        let body = json_body(
            app.get(
                &format!("/notification-chat/presence/?user_id={TUNDE_ID}"),
                Some(&ada.access),
            )
            .await,
        )
        .await;
        if body["online"] == true {
            online = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(online, "an open socket makes the user online");
    socket.close().await;
    let mut last_seen = false;
    for _ in 0..50 {
        let body = json_body(
            app.get(
                &format!("/notification-chat/presence/?user_id={TUNDE_ID}"),
                Some(&ada.access),
            )
            .await,
        )
        .await;
        if body["online"] == false && body["last_seen"].is_string() {
            last_seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(last_seen, "closing the last socket records last_seen");
    assert_eq!(
        app.get(
            "/notification-chat/presence/?user_id=999999",
            Some(&ada.access)
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        app.get("/notification-chat/presence/", Some(&ada.access))
            .await
            .status(),
        400
    );
}
