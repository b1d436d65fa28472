//! Profiles, entries, settings, completion, analytics and search.

use serde_json::{json, Value};

use crate::helpers::*;

#[actix_rt::test]
async fn retrieve_profile_learner_shape() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let response = app.get("/user/retrieve-profile/", Some(&ada.access)).await;
    assert_eq!(response.status(), 200);
    let profile = json_body(response).await;
    for field in [
        "first_name",
        "last_name",
        "middle_name",
        "country_code",
        "phone_number",
        "cover_photo",
        "profile_photo",
        "location",
        "position",
        "bio",
        "qualification",
        "intro_video",
        "summary",
        "experience",
        "education",
        "certification",
        "followers",
        "followings",
        "resume",
        "timezone",
        "user_type",
        "industry",
        "can_message",
        "can_follow",
    ] {
        assert!(
            profile.get(field).is_some(),
            "learner profile lacks {field}"
        );
    }
    for field in [
        "years_of_experience",
        "technical_skills",
        "mentorship_styles",
        "session_rate",
        "rating",
    ] {
        assert!(
            profile.get(field).is_none(),
            "learner profile has mentor field {field}"
        );
    }
    assert_eq!(profile["first_name"], "Ada");
    assert_eq!(profile["experience"].as_array().expect("list").len(), 2);
    assert!(profile["experience"][0]["id"].is_i64());
    assert!(profile["profile_photo"]
        .as_str()
        .expect("url")
        .starts_with("http"));
    assert_eq!(profile["email"], ADA, "owners see their email");
}

#[actix_rt::test]
async fn retrieve_profile_of_mentor_counts_view() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let tunde = app.sign_in_fixture(TUNDE).await;
    let before = json_body(app.get("/user/analytics/", Some(&tunde.access)).await).await
        ["total_views"]
        .as_i64()
        .expect("views");

    let response = app
        .get(
            &format!("/user/retrieve-profile/?user_id={TUNDE_ID}"),
            Some(&ada.access),
        )
        .await;
    assert_eq!(response.status(), 200);
    let profile = json_body(response).await;
    assert_eq!(profile["user_type"], "mentor");
    for field in [
        "years_of_experience",
        "availability",
        "current_job",
        "areas_of_expertise",
        "technical_skills",
        "mentorship_styles",
        "linkedin_url",
        "session_rate",
        "rating",
    ] {
        assert!(profile.get(field).is_some(), "mentor profile lacks {field}");
    }
    assert_eq!(profile["can_message"], true, "Ada and Tunde are connected");
    assert_eq!(profile["can_follow"], false, "Ada already follows Tunde");

    let after = json_body(app.get("/user/analytics/", Some(&tunde.access)).await).await
        ["total_views"]
        .as_i64()
        .expect("views");
    assert_eq!(after, before + 1);
    // Viewing one's own profile is not a view.
    app.get("/user/retrieve-profile/", Some(&tunde.access))
        .await;
    let own = json_body(app.get("/user/analytics/", Some(&tunde.access)).await).await
        ["total_views"]
        .as_i64()
        .expect("views");
    assert_eq!(own, after);
}

#[actix_rt::test]
async fn retrieve_profile_bad_and_unknown_ids() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let bad = app
        .get("/user/retrieve-profile/?user_id=abc", Some(&ada.access))
        .await;
    assert_eq!(bad.status(), 400);
    assert_field_error(&json_body(bad).await, "user_id");
    let unknown = app
        .get("/user/retrieve-profile/?user_id=999999", Some(&ada.access))
        .await;
    assert_eq!(unknown.status(), 404);
    assert!(json_body(unknown).await["detail"].is_string());
    assert_eq!(
        app.get("/user/retrieve-profile/?user_id=2", None)
            .await
            .status(),
        401
    );
}

#[actix_rt::test]
async fn profile_update_round_trip() {
    let app = spawn_app().await;
    let tunde = app.sign_in_fixture(TUNDE).await;
    let changes = json!({
        "first_name": "Babatunde",
        "bio": "Backend mentor",
        "years_of_experience": "7",
        "technical_skills": ["Rust", "Go"],
        "availability": "Weekdays",
        "timezone": "Canada/Central",
        "linkedin_url": "https://www.linkedin.com/in/tunde-example",
        "session_rate": "3000NGN",
        "unknown_field": "ignored",
    });
    let response = app
        .put("/user/profile-update/", &changes, Some(&tunde.access))
        .await;
    assert_eq!(response.status(), 201);
    let updated = json_body(response).await;
    assert_eq!(updated["first_name"], "Babatunde");
    assert_eq!(updated["years_of_experience"], 7);
    assert_eq!(updated["availability"], "weekdays");
    assert_eq!(updated["technical_skills"], json!(["Rust", "Go"]));

    let profile = json_body(
        app.get("/user/retrieve-profile/", Some(&tunde.access))
            .await,
    )
    .await;
    assert_eq!(profile["bio"], "Backend mentor");
    assert_eq!(profile["timezone"], "Canada/Central");
    assert_eq!(profile["session_rate"], "3000NGN");
}

#[actix_rt::test]
async fn profile_update_rejects_invalid_values_without_writing() {
    let app = spawn_app().await;
    let tunde = app.sign_in_fixture(TUNDE).await;
    let cases = [
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"availability": "sometimes"}), "availability"),
        (
            json!({"years_of_experience": "many"}),
            "years_of_experience",
        ),
        (json!({"years_of_experience": 500}), "years_of_experience"),
        (json!({"technical_skills": [1, 2]}), "technical_skills"),
        (json!({"country_code": "234"}), "country_code"),
        (json!({"phone_number": "12ab"}), "phone_number"),
        (
            json!({"linkedin_url": "javascript:alert(1)"}),
            "linkedin_url",
        ),
        (json!({"first_name": {"a": 1}}), "first_name"),
        (
            json!({"profile_photo": "https://elsewhere.example/photo.png"}),
            "profile_photo",
        ),
    ];
    for (mut body, field) in cases {
        body["bio"] = json!("should not be written");
        let response = app
            .put("/user/profile-update/", &body, Some(&tunde.access))
            .await;
        assert_eq!(response.status(), 400, "{body} should be rejected");
        assert_field_error(&json_body(response).await, field);
    }
    let profile = json_body(
        app.get("/user/retrieve-profile/", Some(&tunde.access))
            .await,
    )
    .await;
    assert_ne!(
        profile["bio"], "should not be written",
        "a rejected update wrote data"
    );
}

#[actix_rt::test]
async fn profile_update_mentor_fields_rejected_for_learner() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let response = app
        .put(
            "/user/profile-update/",
            &json!({"technical_skills": ["Rust"], "years_of_experience": 3}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body = json_body(response).await;
    assert_field_error(&body, "technical_skills");
    assert_field_error(&body, "years_of_experience");
    assert!(body["technical_skills"][0]
        .as_str()
        .expect("message")
        .contains("mentors"));
}

#[actix_rt::test]
async fn profile_update_multipart_uploads_photo() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let png: Vec<u8> = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/http/assets/default-profile-photo.png"
    ))
    .expect("png");
    let form = reqwest::multipart::Form::new()
        .text("bio", "Uploaded with a photo")
        .text("rememberMe", "true")
        .part(
            "profile_photo",
            reqwest::multipart::Part::bytes(png.clone())
                .file_name("me.png")
                .mime_str("image/png")
                .expect("mime"),
        );
    let response = app
        .client
        .put(app.url("/user/profile-update/"))
        .bearer_auth(&ada.access)
        .multipart(form)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let profile = json_body(response).await;
    assert_eq!(profile["bio"], "Uploaded with a photo");
    let url = profile["profile_photo"].as_str().expect("url").to_owned();
    assert!(
        url.contains("/profile_pictures/") && url.ends_with(".png"),
        "{url}"
    );

    let stored = app.client.get(&url).send().await.expect("object fetch");
    assert_eq!(
        stored.status(),
        200,
        "the uploaded object is readable at its URL"
    );
    assert_eq!(stored.bytes().await.expect("bytes").to_vec(), png);

    let completion = json_body(app.get("/user/completion/", Some(&ada.access)).await).await;
    assert!(completion["complete_items"]
        .as_array()
        .expect("list")
        .contains(&json!("profile_photo")));
}

#[actix_rt::test]
async fn profile_update_multipart_limits_and_types() {
    let app = spawn_app_with(|settings| settings.media.max_image_bytes = 1024).await;
    let ada = app.sign_in_fixture(ADA).await;
    let too_big = reqwest::multipart::Form::new().part(
        "cover_photo",
        reqwest::multipart::Part::bytes(vec![0u8; 4096])
            .file_name("big.png")
            .mime_str("image/png")
            .expect("mime"),
    );
    let response = app
        .client
        .put(app.url("/user/profile-update/"))
        .bearer_auth(&ada.access)
        .multipart(too_big)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);
    assert!(json_body(response).await["detail"].is_string());

    let wrong_type = reqwest::multipart::Form::new().part(
        "resume",
        reqwest::multipart::Part::bytes(b"#!/bin/sh".to_vec())
            .file_name("cv.sh")
            .mime_str("text/x-shellscript")
            .expect("mime"),
    );
    let response = app
        .client
        .put(app.url("/user/profile-update/"))
        .bearer_auth(&ada.access)
        .multipart(wrong_type)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_field_error(&json_body(response).await, "resume");

    let file_in_text_field = reqwest::multipart::Form::new().part(
        "bio",
        reqwest::multipart::Part::bytes(b"x".to_vec())
            .file_name("bio.txt")
            .mime_str("text/plain")
            .expect("mime"),
    );
    let response = app
        .client
        .put(app.url("/user/profile-update/"))
        .bearer_auth(&ada.access)
        .multipart(file_in_text_field)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_field_error(&json_body(response).await, "bio");
}

#[actix_rt::test]
async fn industry_update_switches_type() {
    let app = spawn_app().await;
    let chinedu = app.sign_in_fixture(CHINEDU).await;
    let response = app
        .patch(
            "/user/profile-update/",
            &json!({"industry": "Education"}),
            Some(&chinedu.access),
        )
        .await;
    assert_eq!(response.status(), 206);
    let body = json_body(response).await;
    assert_eq!(body["industry"], "education");
    assert_eq!(body["email"], CHINEDU);
    assert_eq!(body["user_type"], "learner");

    let response = app
        .patch(
            "/user/profile-update/",
            &json!({"industry": "banking", "user_type": "mentor"}),
            Some(&chinedu.access),
        )
        .await;
    assert_eq!(response.status(), 206);
    let profile = json_body(
        app.get("/user/retrieve-profile/", Some(&chinedu.access))
            .await,
    )
    .await;
    assert_eq!(profile["user_type"], "mentor");

    let invalid = app
        .patch(
            "/user/profile-update/",
            &json!({"industry": "space"}),
            Some(&chinedu.access),
        )
        .await;
    assert_eq!(invalid.status(), 400);
    assert_field_error(&json_body(invalid).await, "industry");
    let missing = app
        .patch("/user/profile-update/", &json!({}), Some(&chinedu.access))
        .await;
    assert_eq!(missing.status(), 400);
    assert_field_error(&json_body(missing).await, "industry");
    let bad_type = app
        .patch(
            "/user/profile-update/",
            &json!({"industry": "banking", "user_type": "wizard"}),
            Some(&chinedu.access),
        )
        .await;
    assert_eq!(bad_type.status(), 400);
    assert_field_error(&json_body(bad_type).await, "user_type");
}

#[actix_rt::test]
async fn entries_add_list_delete() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let cases = [
        (
            "experience",
            json!({"title": "Extension Officer", "organization": "Blue Fin Farms", "start_date": "2022-12-21",
                   "end_date": "2024-12-20", "location": "Lagos", "employment_type": "Onsite", "detail": "Sales"}),
            "title",
        ),
        (
            "education",
            json!({"course": "Backend Development", "school": "Harmattan Institute of Technology",
                   "start_date": "2023-04-21", "end_date": "2023-05-18", "location": "Online", "detail": "Completed"}),
            "course",
        ),
        (
            "certification",
            json!({"title": "Introduction to frontend development", "school": "OpenSkill Academy",
                   "issue_date": "2023-07-04", "cert_id": "OSA-2023-1", "skills": "Html,CSS"}),
            "title",
        ),
    ];
    for (kind, entry, key) in cases {
        let path = format!("/user/{kind}/");
        let response = app.post(&path, &entry, Some(&ada.access)).await;
        assert_eq!(response.status(), 201, "{kind}");
        let created = json_body(response).await;
        let id = created["id"].as_i64().expect("id");
        assert_eq!(created[key], entry[key], "{kind}");

        let list = json_body(app.get(&path, Some(&ada.access)).await).await;
        assert!(
            list.as_array().expect("list").iter().any(|e| e["id"] == id),
            "{kind} listed"
        );

        let delete_path = format!("/user/{kind}/?{kind}_id={id}");
        let response = app.delete(&delete_path, None, Some(&ada.access)).await;
        assert_eq!(response.status(), 204, "{kind}");
        let list = json_body(app.get(&path, Some(&ada.access)).await).await;
        assert!(
            !list.as_array().expect("list").iter().any(|e| e["id"] == id),
            "{kind} deleted"
        );
        let again = app.delete(&delete_path, None, Some(&ada.access)).await;
        assert_eq!(again.status(), 404, "{kind} deleted twice");
        assert_eq!(
            app.get(&path, None).await.status(),
            401,
            "{kind} without token"
        );
    }
}

#[actix_rt::test]
async fn entries_reject_bad_input() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let cases = [
        (
            "/user/education/",
            json!({"school": "X", "start_date": "2020-01-01"}),
            "course",
        ),
        (
            "/user/education/",
            json!({"course": "C", "school": "X", "start_date": "2020-13-01"}),
            "start_date",
        ),
        (
            "/user/education/",
            json!({"course": "C", "school": "X", "start_date": "2020-01-01", "end_date": "2019-01-01"}),
            "end_date",
        ),
        (
            "/user/experience/",
            json!({"title": "T", "organization": "O", "start_date": "2020-01-01", "employment_type": "Freelance"}),
            "employment_type",
        ),
        (
            "/user/experience/",
            json!({"title": "T", "organization": "O", "start_date": "2020-01-01"}),
            "employment_type",
        ),
        (
            "/user/certification/",
            json!({"title": "T", "school": "S"}),
            "issue_date",
        ),
        (
            "/user/certification/",
            json!({"title": ["T"], "school": "S", "issue_date": "2021-02-03"}),
            "title",
        ),
    ];
    for (path, body, field) in cases {
        let response = app.post(path, &body, Some(&ada.access)).await;
        assert_eq!(response.status(), 400, "{path} {body}");
        assert_field_error(&json_body(response).await, field);
    }
    let bad_id = app
        .delete("/user/education/?education_id=abc", None, Some(&ada.access))
        .await;
    assert_eq!(bad_id.status(), 400);
    assert_field_error(&json_body(bad_id).await, "education_id");
    let missing_id = app
        .delete("/user/certification/", None, Some(&ada.access))
        .await;
    assert_eq!(missing_id.status(), 400);
    assert_field_error(&json_body(missing_id).await, "certification_id");
    assert_eq!(app.get("/user/experience/", None).await.status(), 401);
}

#[actix_rt::test]
async fn entries_of_another_user_are_untouchable() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let tunde = app.sign_in_fixture(TUNDE).await;
    let ada_experience = json_body(app.get("/user/experience/", Some(&ada.access)).await).await;
    let id = ada_experience[0]["id"]
        .as_i64()
        .expect("Ada has experience");

    let delete = app
        .delete(
            &format!("/user/experience/?experience_id={id}"),
            None,
            Some(&tunde.access),
        )
        .await;
    assert_eq!(delete.status(), 404);
    let update = app
        .put(
            "/user/update-experience/",
            &json!({"id": id, "title": "Hijacked"}),
            Some(&tunde.access),
        )
        .await;
    assert_eq!(update.status(), 404);
    let after = json_body(app.get("/user/experience/", Some(&ada.access)).await).await;
    assert_eq!(after, ada_experience, "Ada's entries are unchanged");
}

#[actix_rt::test]
async fn experience_update_changes_given_fields() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let list = json_body(app.get("/user/experience/", Some(&ada.access)).await).await;
    let entry = list[0].clone();
    let id = entry["id"].as_i64().expect("id");

    let response = app
        .put("/user/update-experience/", &json!({"id": id.to_string(), "title": "Research Programmer", "employment_type": "hybrid"}), Some(&ada.access))
        .await;
    assert_eq!(response.status(), 201);
    let updated = json_body(response).await;
    assert_eq!(updated["title"], "Research Programmer");
    assert_eq!(updated["employment_type"], "Hybrid");
    assert_eq!(updated["organization"], entry["organization"]);

    let missing_id = app
        .put(
            "/user/update-experience/",
            &json!({"title": "X"}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(missing_id.status(), 400);
    assert_field_error(&json_body(missing_id).await, "id");
    let bad_date = app
        .put(
            "/user/update-experience/",
            &json!({"id": id, "end_date": "1990-01-01"}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(bad_date.status(), 400);
    let unknown = app
        .put(
            "/user/update-experience/",
            &json!({"id": 987654, "title": "X"}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(unknown.status(), 404);

    let cert = json!({"title": "Rust Fundamentals", "school": "OpenSkill Academy", "issue_date": "2024-01-10", "cert_id": "OSA-1", "skills": "Rust"});
    let created = json_body(
        app.post("/user/certification/", &cert, Some(&ada.access))
            .await,
    )
    .await;
    let changed = app
        .put(
            "/user/certification/",
            &json!({"id": created["id"], "skills": "Rust, Tokio"}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(changed.status(), 201);
    assert_eq!(json_body(changed).await["skills"], "Rust, Tokio");
}

#[actix_rt::test]
async fn settings_read_and_update() {
    let app = spawn_app().await;
    let chinedu = app.sign_in_fixture(CHINEDU).await;
    let settings = json_body(app.get("/user/settings/", Some(&chinedu.access)).await).await;
    for field in [
        "email_notify",
        "push_notify",
        "message_notify",
        "weekly_summary",
        "job_alerts",
        "marketing",
        "show_email",
        "show_activity",
        "show_location",
        "timezone",
    ] {
        assert!(settings.get(field).is_some(), "settings lack {field}");
    }

    let response = app
        .put(
            "/user/settings/",
            &json!({"email_notify": "True", "marketing": false, "timezone": "Europe/London"}),
            Some(&chinedu.access),
        )
        .await;
    assert_eq!(response.status(), 200);
    let updated = json_body(response).await;
    assert_eq!(updated["email_notify"], true);
    assert_eq!(updated["marketing"], false);
    assert_eq!(updated["timezone"], "Europe/London");

    let bad_bool = app
        .put(
            "/user/settings/",
            &json!({"push_notify": "perhaps"}),
            Some(&chinedu.access),
        )
        .await;
    assert_eq!(bad_bool.status(), 400);
    assert_field_error(&json_body(bad_bool).await, "push_notify");
    let bad_zone = app
        .put(
            "/user/settings/",
            &json!({"timezone": "Lagos"}),
            Some(&chinedu.access),
        )
        .await;
    assert_eq!(bad_zone.status(), 400);
    assert_field_error(&json_body(bad_zone).await, "timezone");
    assert_eq!(
        app.put("/user/settings/", &json!({}), None).await.status(),
        401
    );
}

#[actix_rt::test]
async fn completion_counts_items() {
    let app = spawn_app().await;
    let email = unique_email("fresh");
    let session = app.sign_up(&email, "Harbor#2026x", None).await;
    let completion = json_body(app.get("/user/completion/", Some(&session.access)).await).await;
    assert_eq!(completion["completion"], 0);
    assert_eq!(
        completion["incomplete_items"]
            .as_array()
            .expect("list")
            .len(),
        6
    );

    app.put(
        "/user/profile-update/",
        &json!({"bio": "Learning Rust"}),
        Some(&session.access),
    )
    .await;
    let education = json!({"course": "C", "school": "S", "start_date": "2020-01-01"});
    app.post("/user/education/", &education, Some(&session.access))
        .await;
    let completion = json_body(app.get("/user/completion/", Some(&session.access)).await).await;
    assert_eq!(completion["completion"], 33);
    let complete: Vec<Value> = completion["complete_items"]
        .as_array()
        .expect("list")
        .clone();
    assert!(complete.contains(&json!("bio")) && complete.contains(&json!("education")));
    assert_eq!(app.get("/user/completion/", None).await.status(), 401);
}

#[actix_rt::test]
async fn analytics_honour_privacy_setting() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let chinedu = app.sign_in_fixture(CHINEDU).await;
    let own = json_body(app.get("/user/analytics/", Some(&ada.access)).await).await;
    assert!(own["total_connections"].as_u64().expect("count") >= 3);
    assert!(own["total_posts"].is_u64() && own["total_views"].is_i64());

    app.put(
        "/user/settings/",
        &json!({"show_analytics": false}),
        Some(&chinedu.access),
    )
    .await;
    let hidden = app
        .get(
            &format!("/user/analytics/?user_id={CHINEDU_ID}"),
            Some(&ada.access),
        )
        .await;
    assert_eq!(hidden.status(), 403);
    app.put(
        "/user/settings/",
        &json!({"show_analytics": true}),
        Some(&chinedu.access),
    )
    .await;
    let shown = app
        .get(
            &format!("/user/analytics/?user_id={CHINEDU_ID}"),
            Some(&ada.access),
        )
        .await;
    assert_eq!(shown.status(), 200);

    assert_eq!(
        app.get("/user/analytics/?user_id=x", Some(&ada.access))
            .await
            .status(),
        400
    );
    assert_eq!(
        app.get("/user/analytics/?user_id=99999", Some(&ada.access))
            .await
            .status(),
        404
    );
}

#[actix_rt::test]
async fn search_users_paginates() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let response = app
        .get("/user/search/?keyword=okafor", Some(&ada.access))
        .await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert!(body["count"].as_u64().expect("count") >= 1);
    let first = &body["results"][0];
    for field in ["id", "name", "qualification", "profile_photo", "followers"] {
        assert!(first.get(field).is_some(), "search result lacks {field}");
    }
    assert_eq!(first["name"], "Ada Okafor");

    let broad = json_body(
        app.get("/user/search/?keyword=a&page_size=5", Some(&ada.access))
            .await,
    )
    .await;
    let count = broad["count"].as_u64().expect("count");
    assert!(count > 5, "a one-letter search matches many users");
    assert_eq!(broad["results"].as_array().expect("list").len(), 5);
    let next = broad["next"].as_str().expect("next page");
    assert!(
        next.starts_with("http://127.0.0.1:")
            && next.contains("page=2")
            && next.contains("keyword=a"),
        "{next}"
    );
    let page_two = json_body(
        app.client
            .get(next)
            .bearer_auth(&ada.access)
            .send()
            .await
            .expect("next"),
    )
    .await;
    assert!(page_two["previous"].is_string());
    assert_ne!(page_two["results"][0]["id"], broad["results"][0]["id"]);

    let tricky = app
        .get("/user/search/?keyword=c%2B%2B%20(dev", Some(&ada.access))
        .await;
    assert_eq!(
        tricky.status(),
        200,
        "regex characters are matched literally"
    );
    let missing = app.get("/user/search/", Some(&ada.access)).await;
    assert_eq!(missing.status(), 400);
    assert_field_error(&json_body(missing).await, "keyword");
    assert_eq!(
        app.get("/user/search/?keyword=ada&page=999", Some(&ada.access))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get("/user/search/?keyword=ada", None).await.status(),
        401
    );
}
