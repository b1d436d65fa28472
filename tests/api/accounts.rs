//! Sign-up, sign-in, sign-out, password reset and account deletion.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

const PASSWORD: &str = "Harbor#2026x";

#[actix_rt::test]
async fn signup_learner_with_mailed_code() {
    let app = spawn_app().await;
    let email = unique_email("learner");
    let form = json!({"email": email, "password1": PASSWORD, "password2": PASSWORD});

    let response = app.post("/user/signup/", &form, None).await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["status"], "OTP sent");
    assert_eq!(mails_to(&email).len(), 1, "one mail with the code");

    let mut second = form.clone();
    second["otp"] = json!(latest_code(&email).await);
    let response = app.post("/user/signup/", &second, None).await;
    assert_eq!(response.status(), 201);
    let body = json_body(response).await;
    assert_eq!(body["status"], "Success");
    assert_eq!(body["user"], email.as_str());
    assert_eq!(body["user_type"], "learner");
    assert!(body["user_id"].as_i64().expect("user_id") > 0);
    assert!(body["access"].as_str().expect("access").split('.').count() == 3);

    let profile = json_body(
        app.get(
            "/user/retrieve-profile/",
            Some(body["access"].as_str().expect("access")),
        )
        .await,
    )
    .await;
    assert_eq!(profile["user_type"], "learner");
    assert!(
        profile.get("years_of_experience").is_none(),
        "learners have no mentor fields"
    );
}

#[actix_rt::test]
async fn signup_with_industry_creates_mentor() {
    let app = spawn_app().await;
    let email = unique_email("mentor");
    let session = app.sign_up(&email, PASSWORD, Some("Health")).await;
    let profile = json_body(
        app.get("/user/retrieve-profile/", Some(&session.access))
            .await,
    )
    .await;
    assert_eq!(profile["user_type"], "mentor");
    assert_eq!(profile["industry"], "health");
    assert!(
        profile.get("years_of_experience").is_some(),
        "mentors have mentor fields"
    );
}

#[actix_rt::test]
async fn signup_rejects_bad_forms() {
    let app = spawn_app().await;
    let email = unique_email("bad");
    let cases = [
        (
            json!({"password1": PASSWORD, "password2": PASSWORD}),
            "email",
        ),
        (
            json!({"email": "not-an-address", "password1": PASSWORD, "password2": PASSWORD}),
            "email",
        ),
        (
            json!({"email": email, "password1": PASSWORD, "password2": "Other#2026x"}),
            "password2",
        ),
        (
            json!({"email": email, "password1": "short1", "password2": "short1"}),
            "password1",
        ),
        (
            json!({"email": email, "password1": "12345678901", "password2": "12345678901"}),
            "password1",
        ),
        (json!({"email": email, "password1": PASSWORD}), "password2"),
        (
            json!({"email": email, "password1": PASSWORD, "password2": PASSWORD, "industry": "astrology"}),
            "industry",
        ),
        (
            json!({"email": ["a"], "password1": PASSWORD, "password2": PASSWORD}),
            "email",
        ),
    ];
    for (form, field) in cases {
        let response = app.post("/user/signup/", &form, None).await;
        assert_eq!(response.status(), 400, "form {form} should be rejected");
        assert_field_error(&json_body(response).await, field);
    }
    assert!(
        mails_to(&email).is_empty(),
        "no code is mailed for an invalid form"
    );
}

#[actix_rt::test]
async fn signup_invalid_choice_lists_options() {
    let app = spawn_app().await;
    let form = json!({"email": unique_email("x"), "password1": PASSWORD, "password2": PASSWORD, "industry": "astrology"});
    let body = json_body(app.post("/user/signup/", &form, None).await).await;
    let message = body["industry"][0].as_str().expect("message");
    assert!(message.contains("technology"), "{message}");
}

#[actix_rt::test]
async fn signup_existing_email_conflicts() {
    let app = spawn_app().await;
    let form = json!({"email": ADA.to_uppercase(), "password1": PASSWORD, "password2": PASSWORD});
    let response = app.post("/user/signup/", &form, None).await;
    assert_eq!(response.status(), 409);
    assert_field_error(&json_body(response).await, "email");
}

#[actix_rt::test]
async fn signup_code_is_bound_single_use_and_locks() {
    let app = spawn_app().await;
    let email = unique_email("otp");
    let other = unique_email("other");
    let form = json!({"email": email, "password1": PASSWORD, "password2": PASSWORD});
    app.post("/user/signup/", &form, None).await;
    let code = latest_code(&email).await;

    // The code does not work for another address.
    let form_other = json!({"email": other, "password1": PASSWORD, "password2": PASSWORD});
    app.post("/user/signup/", &form_other, None).await;
    let mut wrong_address = form_other.clone();
    wrong_address["otp"] = json!(code);
    let response = app.post("/user/signup/", &wrong_address, None).await;
    if code != latest_code(&other).await {
        assert_eq!(response.status(), 400, "a code works only for its address");
    }

    // Five wrong codes lock it, after which even the right code is refused.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let mut attempt = form.clone();
        attempt["otp"] = json!(wrong);
        let response = app.post("/user/signup/", &attempt, None).await;
        assert_eq!(response.status(), 400);
        assert_field_error(&json_body(response).await, "otp");
    }
    let mut right = form.clone();
    right["otp"] = json!(code);
    let response = app.post("/user/signup/", &right, None).await;
    assert_eq!(response.status(), 400, "a locked code is refused");

    // A new code works once.
    app.post("/user/signup/", &form, None).await;
    right["otp"] = json!(latest_code(&email).await);
    assert_eq!(app.post("/user/signup/", &right, None).await.status(), 201);
    assert_eq!(
        app.post("/user/signup/", &right, None).await.status(),
        400,
        "codes are single-use"
    );
}

#[actix_rt::test]
async fn signup_code_expires() {
    let app = spawn_app_with(|settings| settings.auth.otp_lifetime_secs = 1).await;
    let email = unique_email("expiry");
    let mut form = json!({"email": email, "password1": PASSWORD, "password2": PASSWORD});
    app.post("/user/signup/", &form, None).await;
    form["otp"] = json!(latest_code(&email).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let response = app.post("/user/signup/", &form, None).await;
    assert_eq!(response.status(), 400);
    let body = json_body(response).await;
    assert!(
        body["otp"][0]
            .as_str()
            .expect("message")
            .contains("expired"),
        "{body}"
    );
}

#[actix_rt::test]
async fn signup_resend_interval_is_enforced() {
    let app = spawn_app_with(|settings| settings.auth.otp_resend_interval_secs = 60).await;
    let form =
        json!({"email": unique_email("resend"), "password1": PASSWORD, "password2": PASSWORD});
    assert_eq!(app.post("/user/signup/", &form, None).await.status(), 200);
    assert_eq!(app.post("/user/signup/", &form, None).await.status(), 429);
}

#[actix_rt::test]
async fn signup_second_stage_checks_password() {
    let app = spawn_app().await;
    let email = unique_email("pw");
    let form = json!({"email": email, "password1": PASSWORD, "password2": PASSWORD});
    app.post("/user/signup/", &form, None).await;
    let attempt = json!({"email": email, "password1": "Different#2026", "password2": "Different#2026", "otp": latest_code(&email).await});
    let response = app.post("/user/signup/", &attempt, None).await;
    assert_eq!(response.status(), 400);
    assert_field_error(&json_body(response).await, "password1");
}

#[actix_rt::test]
async fn signup_pending_stores_no_password() {
    let app = spawn_app().await;
    let email = unique_email("hashonly");
    let form = json!({"email": email, "password1": PASSWORD, "password2": PASSWORD});
    app.post("/user/signup/", &form, None).await;
    let pending = app
        .state
        .store
        .database()
        .collection::<bson::Document>("pending_signups")
        .find_one(bson::doc! { "_id": &email })
        .await
        .expect("query")
        .expect("pending sign-up");
    let stored = pending.to_string();
    assert!(!stored.contains(PASSWORD), "the password itself is stored");
    assert!(
        pending
            .get_str("password_hash")
            .expect("hash")
            .starts_with("$2"),
        "a bcrypt hash is stored"
    );
}

#[actix_rt::test]
async fn hash_verify_creates_account() {
    let app = spawn_app().await;
    let email = unique_email("link");
    let form =
        json!({"email": email, "password1": PASSWORD, "password2": PASSWORD, "industry": "media"});
    app.post("/user/signup/", &form, None).await;
    let hash = latest_hash(&email).await;

    let response = app
        .post("/user/hash/verify/", &json!({"hash": hash}), None)
        .await;
    assert_eq!(response.status(), 201);
    let body = json_body(response).await;
    assert_eq!(body["email"], email.as_str());
    assert_eq!(body["user_type"], "mentor");
    assert_eq!(body["status"], "Success");

    let again = app
        .post("/user/hash/verify/", &json!({"hash": hash}), None)
        .await;
    assert_eq!(again.status(), 400, "a link works once");
    let missing = app.post("/user/hash/verify/", &json!({}), None).await;
    assert_eq!(missing.status(), 400);
    assert_field_error(&json_body(missing).await, "hash");
}

#[actix_rt::test]
async fn signin_matches_email_case_insensitively() {
    let app = spawn_app().await;
    let response = app
        .post("/user/signin/", &json!({"email": "Ada.OKAFOR@Example.com", "password": FIXTURE_PASSWORD, "rememberMe": true}), None)
        .await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["user"], ADA);
    assert_eq!(body["user_id"], ADA_ID);
    assert_eq!(body["user_type"], "learner");
    assert!(body["refresh"].is_string() && body["access"].is_string());
}

#[actix_rt::test]
async fn signin_rejects_wrong_credentials_and_missing_fields() {
    let app = spawn_app().await;
    let wrong = app
        .post(
            "/user/signin/",
            &json!({"email": ADA, "password": "Wrong#2026"}),
            None,
        )
        .await;
    assert_eq!(wrong.status(), 400);
    assert!(json_body(wrong).await["detail"].is_string());
    let unknown = app
        .post(
            "/user/signin/",
            &json!({"email": "nobody@example.com", "password": "Wrong#2026"}),
            None,
        )
        .await;
    assert_eq!(unknown.status(), 400);
    let missing = app
        .post("/user/signin/", &json!({"email": ADA}), None)
        .await;
    assert_eq!(missing.status(), 400);
    assert_field_error(&json_body(missing).await, "password");
    let not_json = app
        .client
        .post(app.url("/user/signin/"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(not_json.status(), 400);
}

#[actix_rt::test]
async fn signin_accepts_form_encoded_body() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/user/signin/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email={}&password=Nexus%232026", ADA))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

#[actix_rt::test]
async fn signout_revokes_both_tokens() {
    let app = spawn_app().await;
    let session = app.sign_in_fixture(ADA).await;
    let response = app
        .post(
            "/user/signout/",
            &json!({"refresh": session.refresh}),
            Some(&session.access),
        )
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(json_body(response).await["status"], "Logged out");

    let after = app
        .get("/user/retrieve-profile/", Some(&session.access))
        .await;
    assert_eq!(
        after.status(),
        401,
        "the access token of the session is revoked"
    );
    let other = app.sign_in_fixture(ADA).await;
    let again = app
        .post(
            "/user/signout/",
            &json!({"refresh": session.refresh}),
            Some(&other.access),
        )
        .await;
    assert_eq!(again.status(), 400, "the refresh token is blacklisted");
    assert_eq!(
        app.get("/user/retrieve-profile/", Some(&other.access))
            .await
            .status(),
        200,
        "other sessions stay"
    );
}

#[actix_rt::test]
async fn signout_refuses_someone_elses_token() {
    let app = spawn_app().await;
    let ada = app.sign_in_fixture(ADA).await;
    let tunde = app.sign_in_fixture(TUNDE).await;
    let response = app
        .post(
            "/user/signout/",
            &json!({"refresh": tunde.refresh}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        app.get("/user/retrieve-profile/", Some(&tunde.access))
            .await
            .status(),
        200
    );

    let no_token = app
        .post("/user/signout/", &json!({"refresh": ada.refresh}), None)
        .await;
    assert_eq!(no_token.status(), 401);
    let access_as_refresh = app
        .post(
            "/user/signout/",
            &json!({"refresh": ada.access}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(access_as_refresh.status(), 400);
    let missing = app
        .post("/user/signout/", &json!({}), Some(&ada.access))
        .await;
    assert_eq!(missing.status(), 400);
    assert_field_error(&json_body(missing).await, "refresh");
}

#[actix_rt::test]
async fn protected_endpoint_rejects_bad_tokens() {
    let app = spawn_app().await;
    assert_eq!(app.get("/user/retrieve-profile/", None).await.status(), 401);
    assert_eq!(
        app.get("/user/retrieve-profile/", Some("garbage"))
            .await
            .status(),
        401
    );
    let session = app.sign_in_fixture(ADA).await;
    let refresh_as_access = app
        .get("/user/retrieve-profile/", Some(&session.refresh))
        .await;
    assert_eq!(refresh_as_access.status(), 401);
    assert!(json_body(refresh_as_access).await["detail"].is_string());
}

#[actix_rt::test]
async fn expired_access_token_is_rejected() {
    let app = spawn_app_with(|settings| settings.auth.access_token_lifetime_secs = 1).await;
    let session = app.sign_in_fixture(ADA).await;
    assert_eq!(
        app.get("/user/settings/", Some(&session.access))
            .await
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        app.get("/user/settings/", Some(&session.access))
            .await
            .status(),
        401
    );
}

#[actix_rt::test]
async fn forget_password_three_stages() {
    let app = spawn_app().await;
    let email = unique_email("reset");
    let old = app.sign_up(&email, PASSWORD, None).await;
    let new_password = "Lagoon#2027y";

    let response = app
        .post("/user/forget-password/", &json!({"email": email}), None)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["status"], "OTP sent");

    // Changing before verifying is refused.
    let early = json!({"email": email, "password1": new_password, "password2": new_password});
    assert_eq!(
        app.post("/user/forget-password/", &early, None)
            .await
            .status(),
        400
    );

    let code = latest_code(&email).await;
    let response = app
        .post(
            "/user/forget-password/",
            &json!({"email": email, "otp": code}),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["status"], "Verified");

    let response = app.post("/user/forget-password/", &early, None).await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["status"], "Password Changes");
    assert_eq!(body["email"], email.as_str());

    assert_eq!(
        app.post("/user/forget-password/", &early, None)
            .await
            .status(),
        400,
        "one change per verification"
    );
    assert_eq!(
        app.get("/user/settings/", Some(&old.access)).await.status(),
        401,
        "old sessions end"
    );
    app.sign_in(&email, new_password).await;
    let old_password = app
        .post(
            "/user/signin/",
            &json!({"email": email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(old_password.status(), 400);
}

#[actix_rt::test]
async fn forget_password_by_hash_and_bad_input() {
    let app = spawn_app().await;
    app.post("/user/forget-password/", &json!({"email": CHINEDU}), None)
        .await;
    let hash = latest_hash(CHINEDU).await;
    let response = app
        .post("/user/forget-password/", &json!({"hash": hash}), None)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["email"], CHINEDU);
    assert_eq!(
        app.post("/user/forget-password/", &json!({"hash": hash}), None)
            .await
            .status(),
        400
    );

    let weak = json!({"email": CHINEDU, "password1": "weak", "password2": "weak"});
    let response = app.post("/user/forget-password/", &weak, None).await;
    assert_eq!(response.status(), 400);
    assert_field_error(&json_body(response).await, "password1");

    let empty = app.post("/user/forget-password/", &json!({}), None).await;
    assert_eq!(empty.status(), 400);
    assert_field_error(&json_body(empty).await, "email");
    let wrong_code = app
        .post(
            "/user/forget-password/",
            &json!({"email": CHINEDU, "otp": "12"}),
            None,
        )
        .await;
    assert_eq!(wrong_code.status(), 400);
}

#[actix_rt::test]
async fn forget_password_unknown_email_reveals_nothing() {
    let app = spawn_app().await;
    let email = unique_email("ghost");
    let response = app
        .post("/user/forget-password/", &json!({"email": email}), None)
        .await;
    assert_eq!(response.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        mails_to(&email).is_empty(),
        "no mail for an address without account"
    );
}

#[actix_rt::test]
async fn delete_user_own_account_only() {
    let app = spawn_app().await;
    let email = unique_email("leaver");
    let session = app.sign_up(&email, PASSWORD, None).await;
    let ada = app.sign_in_fixture(ADA).await;

    let forbidden = app
        .delete(
            "/user/delete/",
            Some(&json!({"email": email})),
            Some(&ada.access),
        )
        .await;
    assert_eq!(forbidden.status(), 403, "Ada cannot delete another account");
    let missing = app
        .delete("/user/delete/", Some(&json!({})), Some(&session.access))
        .await;
    assert_eq!(missing.status(), 400);
    assert_eq!(
        app.delete("/user/delete/", Some(&json!({"email": email})), None)
            .await
            .status(),
        401
    );

    let response = app
        .delete(
            "/user/delete/",
            Some(&json!({"email": email})),
            Some(&session.access),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        app.get("/user/settings/", Some(&session.access))
            .await
            .status(),
        401,
        "tokens of a deleted account fail"
    );
    let signin = app
        .post(
            "/user/signin/",
            &json!({"email": email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(signin.status(), 400);
    let profile = app
        .get(
            &format!("/user/retrieve-profile/?user_id={}", session.user_id),
            Some(&ada.access),
        )
        .await;
    assert_eq!(profile.status(), 404);
    let again = app.sign_up(&email, PASSWORD, None).await;
    assert_ne!(
        again.user_id, session.user_id,
        "the address is free again, with a new id"
    );
}

#[actix_rt::test]
async fn delete_user_by_admin() {
    let app = spawn_app().await;
    let email = unique_email("removed");
    app.sign_up(&email, PASSWORD, None).await;
    let admin = app.sign_in_fixture(ADMIN).await;
    let response = app
        .delete(
            "/user/delete/",
            Some(&json!({"email": email})),
            Some(&admin.access),
        )
        .await;
    assert_eq!(response.status(), 204);
    let unknown = app
        .delete(
            "/user/delete/",
            Some(&json!({"email": email})),
            Some(&admin.access),
        )
        .await;
    assert_eq!(unknown.status(), 404);
}
