//! `/user/` profile endpoints: profile, industry, experience, education, certification,
//! settings, completion, analytics and search.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use careernexus_actors::choices::INDUSTRY;
use careernexus_actors::ids::{EntryId, UserId};
use careernexus_actors::profiles::{
    AddEntry, AnalyticsView, CompletionView, DeleteEntry, EntryKind, GetAnalytics, GetCompletion,
    GetProfile, GetSettings, IndustryView, ListEntries, MediaField, MediaUpload, ProfileChanges,
    ProfileView, SearchResultView, SearchUsers, SettingsChanges, SettingsView, UpdateEntry,
    UpdateIndustry, UpdateProfile, UpdateSettings, SETTING_FLAGS,
};
use careernexus_actors::users::UserType;
use serde_json::Value;

use super::ask;
use crate::error::ApiError;
use crate::extractors::CurrentUser;
use crate::forms::{query_id, required_query_id, FormBody, FormReader, UploadForm};
use crate::pagination::{Page, PageQuery};
use crate::startup::AppState;

type Query = web::Query<HashMap<String, String>>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/user/retrieve-profile/").route(web::get().to(retrieve_profile)))
        .service(
            web::resource("/user/profile-update/")
                .route(web::put().to(update_profile))
                .route(web::patch().to(update_industry)),
        )
        .service(entry_resource("/user/experience/", EntryKind::Experience))
        .service(web::resource("/user/update-experience/").route(web::put().to(update_experience)))
        .service(entry_resource("/user/education/", EntryKind::Education))
        .service(entry_resource(
            "/user/certification/",
            EntryKind::Certification,
        ))
        .service(
            web::resource("/user/settings/")
                .route(web::get().to(retrieve_settings))
                .route(web::put().to(update_settings)),
        )
        .service(web::resource("/user/completion/").route(web::get().to(profile_completion)))
        .service(web::resource("/user/analytics/").route(web::get().to(user_analytics)))
        .service(web::resource("/user/search/").route(web::get().to(search_users)));
}

/// One resource per entry kind: list (GET), add (POST), change (PUT), delete (DELETE).
fn entry_resource(path: &str, kind: EntryKind) -> actix_web::Resource {
    web::resource(path)
        .app_data(web::Data::new(kind))
        .route(web::get().to(list_entries))
        .route(web::post().to(add_entry))
        .route(web::put().to(update_entry))
        .route(web::delete().to(delete_entry))
}

#[utoipa::path(get, path = "/user/retrieve-profile/", tag = "profiles", security(("bearer" = [])),
    params(("user_id" = Option<i64>, Query, description = "Another user's id; omit for your own profile")),
    responses((status = 200, body = ProfileView), (status = 400, description = "Malformed user_id"), (status = 401), (status = 404, description = "Unknown user")))]
pub async fn retrieve_profile(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let user_id = query_id(&query, "user_id")?.map(UserId);
    let profile = ask(
        &state,
        &state.profiles,
        GetProfile {
            viewer: user.0.user_id,
            user_id,
        },
    )
    .await??;
    Ok(HttpResponse::Ok().json(profile))
}

#[utoipa::path(put, path = "/user/profile-update/", tag = "profiles", security(("bearer" = [])),
    request_body(content = Object, description = "JSON, or multipart with files in profile_photo, cover_photo, resume, intro_video. Mentor-only: years_of_experience, areas_of_expertise, availability, current_job, technical_skills, mentorship_styles, linkedin_url, session_rate."),
    responses((status = 201, body = ProfileView), (status = 400, description = "Invalid field or mentor-only field for another account type"),
              (status = 401), (status = 413, description = "File too large")))]
pub async fn update_profile(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: UploadForm,
) -> Result<HttpResponse, ApiError> {
    let changes = read_profile_changes(&form)?;
    let uploads = form
        .files
        .iter()
        .filter_map(|file| {
            let field = MediaField::ALL
                .into_iter()
                .find(|field| field.name() == file.field)?;
            Some(MediaUpload {
                field,
                path: file.file.path().to_path_buf(),
                content_type: file.content_type.clone(),
                file_name: file.file_name.clone(),
            })
        })
        .collect();
    let request = UpdateProfile {
        user: user.0.user_id,
        changes,
        uploads,
    };
    let profile = ask(&state, &state.profiles, request).await??;
    // `form` owns the temporary files; they are deleted only now, after the upload.
    drop(form);
    Ok(HttpResponse::Created().json(profile))
}

fn read_profile_changes(form: &UploadForm) -> Result<ProfileChanges, ApiError> {
    let mut reader = FormReader::new(&form.values);
    let mut changes = ProfileChanges {
        first_name: reader.text("first_name"),
        last_name: reader.text("last_name"),
        middle_name: reader.text("middle_name"),
        country_code: reader.text("country_code"),
        phone_number: reader.text("phone_number"),
        qualification: reader.text("qualification"),
        location: reader.text("location"),
        summary: reader.text("summary"),
        position: reader.text("position"),
        bio: reader.text("bio"),
        timezone: reader.text("timezone"),
        availability: reader.text("availability"),
        current_job: reader.text("current_job"),
        years_of_experience: None,
        areas_of_expertise: reader.string_list("areas_of_expertise"),
        technical_skills: reader.string_list("technical_skills"),
        mentorship_styles: reader.string_list("mentorship_styles"),
        linkedin_url: reader
            .has("linkedin_url")
            .then(|| reader.text("linkedin_url")),
        session_rate: reader.text("session_rate"),
        cleared_media: Vec::new(),
    };
    if let Some(years) = reader.integer("years_of_experience") {
        match i32::try_from(years) {
            Ok(years) => changes.years_of_experience = Some(years),
            Err(_) => reader.errors.add(
                "years_of_experience",
                "Enter a whole number of years from 0 to 80.",
            ),
        }
    }
    // A media field sent as text can only clear the file: an upload must be a file part.
    for field in MediaField::ALL {
        match form.values.get(field.name()) {
            None => {}
            Some(Value::Null) => changes.cleared_media.push(field),
            Some(Value::String(text)) if text.trim().is_empty() => changes.cleared_media.push(field),
            Some(_) => reader.errors.add(
                field.name(),
                "Upload this file as a multipart/form-data file part; send null or an empty string to remove it.",
            ),
        }
    }
    reader.finish()?;
    Ok(changes)
}

#[utoipa::path(patch, path = "/user/profile-update/", tag = "profiles", security(("bearer" = [])),
    request_body(content = Object, description = "`industry` (required choice), optional `user_type`: learner or mentor"),
    responses((status = 206, body = IndustryView), (status = 400, description = "Missing or invalid choice"), (status = 401)))]
pub async fn update_industry(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: FormBody,
) -> Result<HttpResponse, ApiError> {
    let mut form = FormReader::new(&body.0);
    let industry = form
        .required_text("industry")
        .and_then(|value| INDUSTRY.check(&mut form.errors, "industry", &value));
    let user_type = match form
        .text("user_type")
        .map(|value| value.trim().to_ascii_lowercase())
    {
        None => None,
        Some(value) => match value.as_str() {
            "learner" => Some(UserType::Learner),
            "mentor" => Some(UserType::Mentor),
            "employer" => Some(UserType::Employer),
            other => {
                form.errors.add(
                    "user_type",
                    format!("'{other}' is not a valid choice. Valid options: learner, mentor."),
                );
                None
            }
        },
    };
    form.finish()?;
    let industry =
        industry.ok_or_else(|| ApiError::field("industry", "This field is required."))?;
    let request = UpdateIndustry {
        user: user.0.user_id,
        industry,
        user_type,
    };
    let view = ask(&state, &state.profiles, request).await??;
    Ok(HttpResponse::PartialContent().json(view))
}

#[utoipa::path(get, path = "/user/experience/", tag = "profiles", security(("bearer" = [])),
    responses((status = 200, description = "Entries, newest first (the same for /user/education/ and /user/certification/)"), (status = 401)))]
pub async fn list_entries(
    state: web::Data<AppState>,
    kind: web::Data<EntryKind>,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let entries = ask(
        &state,
        &state.profiles,
        ListEntries {
            user: user.0.user_id,
            kind: **kind,
        },
    )
    .await??;
    Ok(HttpResponse::Ok().json(entries))
}

#[utoipa::path(post, path = "/user/experience/", tag = "profiles", security(("bearer" = [])),
    request_body(content = Object, description = "Experience: title, organization, start_date, end_date, location, employment_type (Onsite, Remote, Hybrid), detail. Education: course, school, start_date, end_date, location, detail. Certification: title, school, issue_date, cert_id, skills. Dates are YYYY-MM-DD."),
    responses((status = 201, description = "The new entry with its id"), (status = 400, description = "Missing or invalid field"), (status = 401)))]
pub async fn add_entry(
    state: web::Data<AppState>,
    kind: web::Data<EntryKind>,
    user: CurrentUser,
    body: FormBody,
) -> Result<HttpResponse, ApiError> {
    let request = AddEntry {
        user: user.0.user_id,
        kind: **kind,
        values: body.0,
    };
    let entry = ask(&state, &state.profiles, request).await??;
    Ok(HttpResponse::Created().json(entry))
}

#[utoipa::path(put, path = "/user/update-experience/", tag = "profiles", security(("bearer" = [])),
    request_body(content = Object, description = "`id` of your entry plus the fields to change (also PUT /user/experience/, /user/education/, /user/certification/)"),
    responses((status = 201, description = "The changed entry"), (status = 400, description = "Missing id or invalid field"), (status = 401),
              (status = 404, description = "No such entry on your profile")))]
pub async fn update_experience(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: FormBody,
) -> Result<HttpResponse, ApiError> {
    change_entry(&state, EntryKind::Experience, user, body).await
}

pub async fn update_entry(
    state: web::Data<AppState>,
    kind: web::Data<EntryKind>,
    user: CurrentUser,
    body: FormBody,
) -> Result<HttpResponse, ApiError> {
    change_entry(&state, **kind, user, body).await
}

async fn change_entry(
    state: &AppState,
    kind: EntryKind,
    user: CurrentUser,
    body: FormBody,
) -> Result<HttpResponse, ApiError> {
    let mut form = FormReader::new(&body.0);
    let id = form.required_id("id");
    form.finish()?;
    let request = UpdateEntry {
        user: user.0.user_id,
        kind,
        id: EntryId(id.unwrap_or_default()),
        values: body.0,
    };
    let entry = ask(state, &state.profiles, request).await??;
    Ok(HttpResponse::Created().json(entry))
}

#[utoipa::path(delete, path = "/user/experience/", tag = "profiles", security(("bearer" = [])),
    params(("experience_id" = i64, Query, description = "education_id on /user/education/, certification_id on /user/certification/")),
    responses((status = 204), (status = 400, description = "Missing or malformed id"), (status = 401), (status = 404, description = "No such entry on your profile")))]
pub async fn delete_entry(
    state: web::Data<AppState>,
    kind: web::Data<EntryKind>,
    user: CurrentUser,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let parameter = format!("{}_id", kind.label());
    let id = required_query_id(&query, &parameter)?;
    let request = DeleteEntry {
        user: user.0.user_id,
        kind: **kind,
        id: EntryId(id),
    };
    ask(&state, &state.profiles, request).await??;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/user/settings/", tag = "profiles", security(("bearer" = [])),
    responses((status = 200, body = SettingsView), (status = 401)))]
pub async fn retrieve_settings(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let settings = ask(
        &state,
        &state.profiles,
        GetSettings {
            user: user.0.user_id,
        },
    )
    .await??;
    Ok(HttpResponse::Ok().json(settings))
}

#[utoipa::path(put, path = "/user/settings/", tag = "profiles", security(("bearer" = [])),
    request_body(content = Object, description = "Any of the boolean settings, and `timezone` (IANA name)"),
    responses((status = 200, body = SettingsView), (status = 400, description = "Not a boolean, or unknown time zone"), (status = 401)))]
pub async fn update_settings(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: FormBody,
) -> Result<HttpResponse, ApiError> {
    let mut form = FormReader::new(&body.0);
    let mut changes = SettingsChanges {
        flags: Vec::new(),
        timezone: form.text("timezone"),
    };
    for name in SETTING_FLAGS {
        if let Some(value) = form.boolean(name) {
            changes.flags.push((name, value));
        }
    }
    form.finish()?;
    let settings = ask(
        &state,
        &state.profiles,
        UpdateSettings {
            user: user.0.user_id,
            changes,
        },
    )
    .await??;
    Ok(HttpResponse::Ok().json(settings))
}

#[utoipa::path(get, path = "/user/completion/", tag = "profiles", security(("bearer" = [])),
    responses((status = 200, body = CompletionView), (status = 401)))]
pub async fn profile_completion(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let completion = ask(
        &state,
        &state.profiles,
        GetCompletion {
            user: user.0.user_id,
        },
    )
    .await??;
    Ok(HttpResponse::Ok().json(completion))
}

#[utoipa::path(get, path = "/user/analytics/", tag = "profiles", security(("bearer" = [])),
    params(("user_id" = Option<i64>, Query, description = "Another user's id; allowed when their show_analytics setting is on")),
    responses((status = 200, body = AnalyticsView), (status = 400), (status = 401), (status = 403, description = "The user does not share analytics"),
              (status = 404, description = "Unknown user")))]
pub async fn user_analytics(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let user_id = query_id(&query, "user_id")?.map(UserId);
    let analytics = ask(
        &state,
        &state.profiles,
        GetAnalytics {
            viewer: user.0.user_id,
            user_id,
        },
    )
    .await??;
    Ok(HttpResponse::Ok().json(analytics))
}

#[utoipa::path(get, path = "/user/search/", tag = "profiles", security(("bearer" = [])),
    params(("keyword" = String, Query, description = "Words that must all appear in a user's name, headline, skills, location, industry or company"),
           ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses((status = 200, body = Page<SearchResultView>), (status = 400, description = "Missing keyword"), (status = 401), (status = 404, description = "Invalid page")))]
pub async fn search_users(
    state: web::Data<AppState>,
    _user: CurrentUser,
    query: Query,
    page: PageQuery,
) -> Result<HttpResponse, ApiError> {
    let keyword = query.get("keyword").cloned().unwrap_or_default();
    if keyword.trim().is_empty() {
        return Err(ApiError::field(
            "keyword",
            "This query parameter is required.",
        ));
    }
    let request = SearchUsers {
        keyword,
        offset: page.offset(),
        limit: page.limit(),
    };
    let (results, count) = ask(&state, &state.profiles, request).await??;
    Ok(HttpResponse::Ok().json(page.page(results, count)?))
}
