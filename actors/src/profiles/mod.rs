//! Profiles: the learner, mentor and company profile, its experience, education and
//! certification entries, settings, completion, analytics and user search.

pub mod entries;
mod service;

use std::path::PathBuf;
use std::sync::Arc;

use actix::{Actor, Context, Message};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub use entries::EntryKind;
pub use service::ProfilesService;

use crate::actor_util::DOMAIN_MAILBOX_CAPACITY;
use crate::clients::media::{MediaError, MediaStore};
use crate::ids::{EntryId, UserId};
use crate::store::{Store, StoreError};
use crate::users::MediaDefaults;
use crate::validation::FieldErrors;

/// Owns the profile rules; see the module docs.
pub struct ProfilesActor {
    service: Arc<ProfilesService>,
}

impl ProfilesActor {
    pub fn new(store: Store, media: MediaStore, defaults: MediaDefaults) -> Self {
        Self {
            service: Arc::new(ProfilesService::new(store, media, defaults)),
        }
    }
}

impl Actor for ProfilesActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(DOMAIN_MAILBOX_CAPACITY);
    }
}

crate::delegate_to_service!(ProfilesActor, {
    GetProfile => get_profile,
    UpdateProfile => update_profile,
    UpdateIndustry => update_industry,
    ListEntries => list_entries,
    AddEntry => add_entry,
    UpdateEntry => update_entry,
    DeleteEntry => delete_entry,
    GetSettings => get_settings,
    UpdateSettings => update_settings,
    GetCompletion => get_completion,
    GetAnalytics => get_analytics,
    SearchUsers => search_users,
});

#[derive(Debug, thiserror::Error)]
pub enum ProfilesError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("user {0} not found")]
    UserNotFound(UserId),
    #[error("user {0} does not share analytics")]
    AnalyticsPrivate(UserId),
    #[error("{0} entry not found")]
    EntryNotFound(&'static str),
    #[error("media upload failed: {0}")]
    Media(#[from] MediaError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<FieldErrors> for ProfilesError {
    fn from(errors: FieldErrors) -> Self {
        ProfilesError::Invalid(errors)
    }
}

impl From<entries::EntryError> for ProfilesError {
    fn from(error: entries::EntryError) -> Self {
        match error {
            entries::EntryError::Invalid(errors) => ProfilesError::Invalid(errors),
            entries::EntryError::NotFound(label) => ProfilesError::EntryNotFound(label),
            entries::EntryError::Store(error) => ProfilesError::Store(error),
        }
    }
}

/// A profile as shown to its owner or to another user. Mentor and company fields appear
/// only on those accounts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileView {
    /// The user's id.
    pub id: UserId,
    pub first_name: String,
    pub last_name: String,
    pub middle_name: String,
    pub country_code: String,
    pub phone_number: String,
    pub cover_photo: String,
    pub profile_photo: String,
    pub location: String,
    pub position: String,
    pub bio: String,
    pub qualification: String,
    /// URL, or empty when none was uploaded.
    pub intro_video: String,
    pub summary: String,
    #[schema(value_type = Vec<Object>)]
    pub experience: Vec<Map<String, Value>>,
    #[schema(value_type = Vec<Object>)]
    pub education: Vec<Map<String, Value>>,
    #[schema(value_type = Vec<Object>)]
    pub certification: Vec<Map<String, Value>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub mentor: Option<MentorFieldsView>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub company: Option<CompanyView>,
    /// URL, or empty when none was uploaded.
    pub resume: String,
    pub timezone: String,
    pub followers: u64,
    pub followings: u64,
    pub user_type: String,
    pub industry: Option<String>,
    /// Whether the viewer may chat with this user (they have a confirmed connection).
    pub can_message: bool,
    /// Whether the viewer may follow this user (not themselves, not yet following).
    pub can_follow: bool,
    /// Shown to the owner, and to others when the owner's `show_email` is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Fields only mentor profiles have.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MentorFieldsView {
    pub years_of_experience: Option<i32>,
    pub availability: Option<String>,
    pub current_job: String,
    pub areas_of_expertise: Vec<String>,
    pub technical_skills: Vec<String>,
    pub mentorship_styles: Vec<String>,
    pub linkedin_url: Option<String>,
    pub session_rate: Option<String>,
    pub rating: f64,
}

/// Company details of an employer profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompanyView {
    pub company_name: String,
    pub company_type: String,
    pub company_size: String,
    pub website: String,
    pub tagline: String,
}

/// A media field of the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaField {
    ProfilePhoto,
    CoverPhoto,
    Resume,
    IntroVideo,
}

impl MediaField {
    pub const ALL: [MediaField; 4] = [
        MediaField::ProfilePhoto,
        MediaField::CoverPhoto,
        MediaField::Resume,
        MediaField::IntroVideo,
    ];

    /// Request and document field name.
    pub fn name(self) -> &'static str {
        match self {
            MediaField::ProfilePhoto => "profile_photo",
            MediaField::CoverPhoto => "cover_photo",
            MediaField::Resume => "resume",
            MediaField::IntroVideo => "intro_video",
        }
    }

    /// Object key prefix in the bucket.
    fn folder(self) -> &'static str {
        match self {
            MediaField::ProfilePhoto => "profile_pictures",
            MediaField::CoverPhoto => "cover_photos",
            MediaField::Resume => "resumes",
            MediaField::IntroVideo => "intro_videos",
        }
    }

    /// Content types accepted for the field.
    pub fn accepted_types(self) -> &'static [&'static str] {
        match self {
            MediaField::ProfilePhoto | MediaField::CoverPhoto => {
                &["image/jpeg", "image/png", "image/webp", "image/gif"]
            }
            MediaField::Resume => &[
                "application/pdf",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ],
            MediaField::IntroVideo => &["video/mp4", "video/quicktime", "video/webm"],
        }
    }
}

/// A file received for a media field, in a temporary file the sender keeps alive until
/// the reply arrives.
#[derive(Debug, Clone)]
pub struct MediaUpload {
    pub field: MediaField,
    pub path: PathBuf,
    pub content_type: String,
    pub file_name: String,
}

/// Profile fields to change; `None` leaves a field as it is. Types are already parsed;
/// the actor checks the rules (lengths, formats, mentor-only fields).
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub middle_name: Option<String>,
    pub country_code: Option<String>,
    pub phone_number: Option<String>,
    pub qualification: Option<String>,
    pub location: Option<String>,
    pub summary: Option<String>,
    pub position: Option<String>,
    pub bio: Option<String>,
    pub timezone: Option<String>,
    pub availability: Option<String>,
    pub current_job: Option<String>,
    pub years_of_experience: Option<i32>,
    pub areas_of_expertise: Option<Vec<String>>,
    pub technical_skills: Option<Vec<String>>,
    pub mentorship_styles: Option<Vec<String>>,
    /// `Some(None)` clears the URL.
    pub linkedin_url: Option<Option<String>>,
    pub session_rate: Option<String>,
    /// Media fields to reset to "none uploaded".
    pub cleared_media: Vec<MediaField>,
}

/// Returns the profile of `user_id`, or the viewer's own when `None`. Viewing another
/// user's profile counts a view for their analytics.
#[derive(Debug, Message)]
#[rtype(result = "Result<ProfileView, ProfilesError>")]
pub struct GetProfile {
    pub viewer: UserId,
    pub user_id: Option<UserId>,
}

/// Changes the caller's profile and stores uploaded media; replies with the new profile.
/// Uploads are stored first, so a refused change writes nothing to the profile.
#[derive(Debug, Message)]
#[rtype(result = "Result<ProfileView, ProfilesError>")]
pub struct UpdateProfile {
    pub user: UserId,
    pub changes: ProfileChanges,
    pub uploads: Vec<MediaUpload>,
}

/// Sets the industry and, optionally, switches between learner and mentor.
#[derive(Debug, Message)]
#[rtype(result = "Result<IndustryView, ProfilesError>")]
pub struct UpdateIndustry {
    pub user: UserId,
    /// Valid choice of the `industry` field.
    pub industry: &'static str,
    pub user_type: Option<crate::users::UserType>,
}

/// Reply to [`UpdateIndustry`].
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndustryView {
    pub industry: String,
    pub email: String,
    pub user_type: String,
}

/// Entries of one kind on the caller's profile, newest first.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<Map<String, Value>>, ProfilesError>")]
pub struct ListEntries {
    pub user: UserId,
    pub kind: EntryKind,
}

/// Adds an entry from raw request values (validated by the actor).
#[derive(Debug, Message)]
#[rtype(result = "Result<Map<String, Value>, ProfilesError>")]
pub struct AddEntry {
    pub user: UserId,
    pub kind: EntryKind,
    pub values: Map<String, Value>,
}

/// Changes the given fields of one of the caller's entries.
#[derive(Debug, Message)]
#[rtype(result = "Result<Map<String, Value>, ProfilesError>")]
pub struct UpdateEntry {
    pub user: UserId,
    pub kind: EntryKind,
    pub id: EntryId,
    pub values: Map<String, Value>,
}

/// Deletes one of the caller's entries.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), ProfilesError>")]
pub struct DeleteEntry {
    pub user: UserId,
    pub kind: EntryKind,
    pub id: EntryId,
}

/// Account settings as shown and changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SettingsView {
    pub email_notify: bool,
    pub push_notify: bool,
    pub message_notify: bool,
    pub weekly_summary: bool,
    pub job_alerts: bool,
    pub marketing: bool,
    pub show_email: bool,
    pub show_activity: bool,
    pub show_location: bool,
    /// Whether other users may read this user's analytics.
    pub show_analytics: bool,
    /// IANA time zone name.
    pub timezone: String,
}

/// Returns the caller's settings.
#[derive(Debug, Message)]
#[rtype(result = "Result<SettingsView, ProfilesError>")]
pub struct GetSettings {
    pub user: UserId,
}

/// Settings to change; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsChanges {
    /// `(name, value)` of boolean settings; names are checked by the sender.
    pub flags: Vec<(&'static str, bool)>,
    pub timezone: Option<String>,
}

/// Changes the caller's settings and replies with all of them.
#[derive(Debug, Message)]
#[rtype(result = "Result<SettingsView, ProfilesError>")]
pub struct UpdateSettings {
    pub user: UserId,
    pub changes: SettingsChanges,
}

/// Boolean settings, in the order clients list them.
pub const SETTING_FLAGS: [&str; 10] = [
    "email_notify",
    "push_notify",
    "message_notify",
    "weekly_summary",
    "job_alerts",
    "marketing",
    "show_email",
    "show_activity",
    "show_location",
    "show_analytics",
];

/// How complete the caller's profile is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompletionView {
    /// Percentage of complete items, 0 to 100.
    pub completion: u32,
    pub incomplete_items: Vec<&'static str>,
    pub complete_items: Vec<&'static str>,
}

/// Returns the caller's profile completion.
#[derive(Debug, Message)]
#[rtype(result = "Result<CompletionView, ProfilesError>")]
pub struct GetCompletion {
    pub user: UserId,
}

/// Counts for a profile's analytics.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnalyticsView {
    pub total_posts: u64,
    pub total_views: i64,
    pub total_connections: u64,
}

/// Returns the analytics of `user_id` (allowed when they share them) or of the viewer.
#[derive(Debug, Message)]
#[rtype(result = "Result<AnalyticsView, ProfilesError>")]
pub struct GetAnalytics {
    pub viewer: UserId,
    pub user_id: Option<UserId>,
}

/// One user search hit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResultView {
    pub id: UserId,
    pub name: String,
    pub qualification: String,
    pub profile_photo: String,
    pub followers: u64,
    pub user_type: String,
}

/// Users matching every word of `keyword` in their name, headline, skills, location,
/// industry or company name; one page in id order, plus the total.
#[derive(Debug, Message)]
#[rtype(result = "Result<(Vec<SearchResultView>, u64), ProfilesError>")]
pub struct SearchUsers {
    pub keyword: String,
    pub offset: u64,
    pub limit: i64,
}
