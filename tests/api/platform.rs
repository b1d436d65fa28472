//! Health, choice data, API docs, CORS and the JSON shape of framework errors.

use serde_json::json;

use crate::helpers::*;

#[actix_rt::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 200);
    assert_eq!(json_body(ready).await["database"], "ok");
}

#[actix_rt::test]
async fn choice_data_lists_fields_and_options() {
    let app = spawn_app().await;
    let names = json_body(app.get("/info/choice-data/", None).await).await;
    for field in [
        "industry",
        "employment_type",
        "user",
        "employment_category",
        "experience_level",
        "work_type",
    ] {
        assert!(
            names["field_names"]
                .as_array()
                .expect("list")
                .contains(&json!(field)),
            "missing {field}"
        );
    }
    let levels = json_body(
        app.get("/info/choice-data/?field_name=experience_level", None)
            .await,
    )
    .await;
    assert_eq!(levels["field_name"], "experience_level");
    assert_eq!(
        levels["Valid options"],
        json!(["entry", "mid", "senior", "executive"])
    );
    let unknown = app.get("/info/choice-data/?field_name=colour", None).await;
    assert_eq!(unknown.status(), 400);
    assert_field_error(&json_body(unknown).await, "field_name");
}

#[actix_rt::test]
async fn openapi_document_covers_endpoints() {
    let app = spawn_app().await;
    let response = app.get("/docs/openapi.json", None).await;
    assert_eq!(response.status(), 200);
    let document = json_body(response).await;
    assert!(document["openapi"]
        .as_str()
        .expect("version")
        .starts_with("3."));
    for path in [
        "/user/signup/",
        "/user/signin/",
        "/user/signout/",
        "/user/forget-password/",
        "/user/delete/",
        "/user/retrieve-profile/",
        "/user/profile-update/",
        "/user/experience/",
        "/user/update-experience/",
        "/user/settings/",
        "/user/completion/",
        "/user/analytics/",
        "/user/search/",
        "/user/hash/verify/",
        "/notification-chat/chats/",
        "/notification-chat/chat/messages/",
        "/notification-chat/chats/initiate/",
        "/notification-chat/notifications/",
        "/info/choice-data/",
        "/healthz",
        "/readyz",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "OpenAPI lacks {path}"
        );
    }
    for kind in ["experience", "education", "certification"] {
        let item = &document["paths"][format!("/user/{kind}/")];
        for method in ["get", "post", "put", "delete"] {
            assert!(
                item.get(method).is_some(),
                "OpenAPI lacks {method} /user/{kind}/"
            );
        }
        assert_eq!(
            item["delete"]["parameters"][0]["name"],
            format!("{kind}_id"),
            "delete parameter of /user/{kind}/"
        );
    }
    let mut operation_ids = Vec::new();
    for item in document["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("path item").values() {
            if let Some(id) = operation.get("operationId").and_then(|id| id.as_str()) {
                operation_ids.push(id.to_owned());
            }
        }
    }
    let count = operation_ids.len();
    operation_ids.sort();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), count, "operation ids are unique");

    let ui = app.get("/docs/", None).await;
    assert_eq!(ui.status(), 200);
    assert!(
        ui.text().await.expect("html").contains("swagger"),
        "the interactive UI is served"
    );
}

#[actix_rt::test]
async fn cors_echoes_allowed_origin_with_credentials() {
    let app = spawn_app().await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/user/signin/"))
        .header("Origin", "http://localhost:3000")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("preflight");
    assert!(preflight.status().is_success());
    let headers = preflight.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert_eq!(headers["access-control-allow-credentials"], "true");
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .expect("header")
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );

    let foreign = app
        .client
        .get(app.url("/healthz"))
        .header("Origin", "http://evil.example")
        .send()
        .await
        .expect("request");
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "unknown origins get no CORS grant"
    );
}

#[actix_rt::test]
async fn unknown_route_and_method_are_json() {
    let app = spawn_app().await;
    let missing = app.get("/no/such/route/", None).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(json_body(missing).await["detail"], "Not found.");
    let wrong_method = app.get("/user/signin/", None).await;
    assert_eq!(wrong_method.status(), 405);
    assert!(json_body(wrong_method).await["detail"].is_string());
}

#[actix_rt::test]
async fn default_pictures_are_served() {
    let app = spawn_app().await;
    let response = app.get("/static/default-profile-photo.png", None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
}
