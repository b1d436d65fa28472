//! The `users` collection: the account and profile document, shared by the accounts and
//! profiles areas, and the batched summary lookup every list with people in it uses.

use std::collections::HashMap;

use bson::doc;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::UserId;
use crate::store::{Store, StoreError, USERS, USER_EMAILS};

/// Kind of account; decides the profile shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    Learner,
    Mentor,
    /// A company account.
    Employer,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Learner => "learner",
            UserType::Mentor => "mentor",
            UserType::Employer => "employer",
        }
    }
}

/// Account settings; the privacy flags decide what other users see.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsDoc {
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
}

/// Company details of an employer account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompanyDoc {
    pub company_name: String,
    pub company_email: String,
    pub company_type: String,
    pub company_size: String,
    pub website: String,
    pub tagline: String,
}

/// One account with its profile. Missing fields read as their defaults so that documents
/// written by older versions stay readable.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserDoc {
    /// Stored as [`user_key`].
    #[serde(rename = "_id", with = "user_key_serde")]
    pub id: UserId,
    /// Lowercase; unique.
    pub email: String,
    pub password_hash: String,
    pub user_type: UserType,
    #[serde(default)]
    pub is_admin: bool,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(flatten)]
    pub profile: ProfileFields,
    #[serde(default)]
    pub settings: SettingsDoc,
    #[serde(default)]
    pub company: Option<CompanyDoc>,
    #[serde(default)]
    pub profile_views: i64,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub created_at: DateTime<Utc>,
}

/// Profile fields every account has, plus the mentor-only ones (empty for others).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileFields {
    pub first_name: String,
    pub last_name: String,
    pub middle_name: String,
    pub country_code: String,
    pub phone_number: String,
    /// URL of an uploaded photo; `None` shows the default picture.
    pub profile_photo: Option<String>,
    pub cover_photo: Option<String>,
    pub location: String,
    pub position: String,
    pub bio: String,
    pub qualification: String,
    pub intro_video: Option<String>,
    pub summary: String,
    pub resume: Option<String>,
    /// IANA time zone name, e.g. `Africa/Lagos`.
    pub timezone: String,
    pub years_of_experience: Option<i32>,
    pub availability: Option<String>,
    pub current_job: String,
    pub areas_of_expertise: Vec<String>,
    pub technical_skills: Vec<String>,
    pub mentorship_styles: Vec<String>,
    pub linkedin_url: Option<String>,
    /// Free text such as `3000NGN`.
    pub session_rate: Option<String>,
    pub rating: f64,
}

impl UserDoc {
    /// `First Last`, or the company name, or the email's local part when no name is set.
    pub fn display_name(&self) -> String {
        let name = [
            self.profile.first_name.trim(),
            self.profile.last_name.trim(),
        ]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
        if !name.is_empty() {
            return name;
        }
        if let Some(company) = self.company.as_ref().filter(|c| !c.company_name.is_empty()) {
            return company.company_name.clone();
        }
        self.email.split('@').next().unwrap_or_default().to_owned()
    }
}

/// Serde helpers for an optional BSON datetime.
pub mod optional_datetime {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.map(bson::DateTime::from_chrono).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Ok(Option::<bson::DateTime>::deserialize(deserializer)?.map(bson::DateTime::to_chrono))
    }
}

/// The author summary shown on chat rooms, messages, comments and search results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserSummaryView {
    /// The user's id.
    pub id: UserId,
    pub first_name: String,
    pub last_name: String,
    pub middle_name: String,
    pub profile_photo: String,
    pub qualification: String,
    /// `learner`, `mentor`, `employer`, or `deleted` for an account that no longer exists.
    pub user_type: String,
}

/// Defaults shown where a user has not uploaded a picture.
#[derive(Debug, Clone)]
pub struct MediaDefaults {
    pub profile_photo: String,
    pub cover_photo: String,
}

impl MediaDefaults {
    pub fn profile_photo(&self, stored: &Option<String>) -> String {
        stored.clone().unwrap_or_else(|| self.profile_photo.clone())
    }

    pub fn cover_photo(&self, stored: &Option<String>) -> String {
        stored.clone().unwrap_or_else(|| self.cover_photo.clone())
    }

    pub fn summary(&self, user: &UserDoc) -> UserSummaryView {
        UserSummaryView {
            id: user.id,
            first_name: user.profile.first_name.clone(),
            last_name: user.profile.last_name.clone(),
            middle_name: user.profile.middle_name.clone(),
            profile_photo: self.profile_photo(&user.profile.profile_photo),
            qualification: user.profile.qualification.clone(),
            user_type: user.user_type.as_str().to_owned(),
        }
    }

    /// Summary of an account that has been deleted since it was referenced.
    pub fn deleted_summary(&self, id: UserId) -> UserSummaryView {
        UserSummaryView {
            id,
            first_name: "Deleted".to_owned(),
            last_name: "User".to_owned(),
            middle_name: String::new(),
            profile_photo: self.profile_photo.clone(),
            qualification: String::new(),
            user_type: "deleted".to_owned(),
        }
    }
}

/// The `_id` of a user document: the user id in decimal, zero-padded to 12 digits so
/// that the string order is the numeric order. A string key because FerretDB 1.24 hands
/// only an equality on a string `_id` to SQLite, which tests each row without FerretDB
/// decoding it, and users are looked up by id on most requests. Any other filter makes
/// FerretDB decode and test every document.
pub fn user_key(id: UserId) -> String {
    format!("{:012}", id.0)
}

/// Serde for [`UserDoc::id`]: a [`user_key`] string, read back into the integer id.
mod user_key_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{user_key, UserId};

    pub fn serialize<S: Serializer>(id: &UserId, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&user_key(*id))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<UserId, D::Error> {
        let key = String::deserialize(deserializer)?;
        key.parse::<i64>()
            .map(UserId)
            .map_err(|_| serde::de::Error::custom(format!("user key {key:?} is not a number")))
    }
}

/// Maps an email address to its user, so that sign-in finds an account by its `_id`.
/// The users collection keeps its unique email index as well, for MongoDB.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailDoc {
    /// The lowercase address.
    #[serde(rename = "_id")]
    pub email: String,
    pub user_id: UserId,
}

/// Reads one user by id.
///
/// # Errors
/// A [`StoreError`] when the query fails.
pub async fn find_user(store: &Store, id: UserId) -> Result<Option<UserDoc>, StoreError> {
    Ok(store
        .collection::<UserDoc>(USERS)
        .find_one(doc! { "_id": user_key(id) })
        .await?)
}

/// Reads the user with this lowercase address.
///
/// # Errors
/// A [`StoreError`] when a query fails.
pub async fn find_user_by_email(store: &Store, email: &str) -> Result<Option<UserDoc>, StoreError> {
    let Some(entry) = store
        .collection::<EmailDoc>(USER_EMAILS)
        .find_one(doc! { "_id": email })
        .await?
    else {
        return Ok(None);
    };
    // An entry left by an interrupted deletion points at a missing or changed user.
    Ok(find_user(store, entry.user_id)
        .await?
        .filter(|user| user.email == email))
}

/// Stores a new user: first the address entry, whose unique `_id` claims the address,
/// then the user. A stale entry (its user is gone) is taken over.
///
/// # Errors
/// A duplicate-key [`StoreError`] when another account has the address.
pub async fn insert_user(store: &Store, user: &UserDoc) -> Result<(), StoreError> {
    let emails = store.collection::<EmailDoc>(USER_EMAILS);
    let entry = EmailDoc {
        email: user.email.clone(),
        user_id: user.id,
    };
    if let Err(error) = emails.insert_one(&entry).await {
        let error = StoreError::from(error);
        if !error.is_duplicate_key() || find_user_by_email(store, &user.email).await?.is_some() {
            return Err(error);
        }
        emails
            .replace_one(doc! { "_id": &user.email }, &entry)
            .await?;
    }
    if let Err(error) = store.collection::<UserDoc>(USERS).insert_one(user).await {
        emails
            .delete_one(doc! { "_id": &user.email, "user_id": user.id })
            .await?;
        return Err(error.into());
    }
    Ok(())
}

/// Deletes a user document, then its address entry.
///
/// # Errors
/// A [`StoreError`] when a delete fails; repeating the call finishes the job.
pub async fn delete_user(store: &Store, user: &UserDoc) -> Result<(), StoreError> {
    store
        .collection::<UserDoc>(USERS)
        .delete_one(doc! { "_id": user_key(user.id) })
        .await?;
    store
        .collection::<EmailDoc>(USER_EMAILS)
        .delete_one(doc! { "_id": &user.email, "user_id": user.id })
        .await?;
    Ok(())
}

/// Reads the users with the given ids in one query, keyed by id.
///
/// # Errors
/// A [`StoreError`] when the query fails.
pub async fn find_users(
    store: &Store,
    ids: &[UserId],
) -> Result<HashMap<UserId, UserDoc>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let keys: Vec<String> = ids.iter().map(|id| user_key(*id)).collect();
    let filter = match keys.as_slice() {
        [key] => doc! { "_id": key },
        _ => doc! { "_id": { "$in": keys } },
    };
    let users: Vec<UserDoc> = store
        .collection::<UserDoc>(USERS)
        .find(filter)
        .await?
        .try_collect()
        .await?;
    Ok(users.into_iter().map(|user| (user.id, user)).collect())
}

/// Summaries of the given users, one batched query; deleted accounts get a placeholder.
///
/// # Errors
/// A [`StoreError`] when the query fails.
pub async fn summaries(
    store: &Store,
    defaults: &MediaDefaults,
    ids: &[UserId],
) -> Result<HashMap<UserId, UserSummaryView>, StoreError> {
    let users = find_users(store, ids).await?;
    Ok(ids
        .iter()
        .map(|id| {
            let summary = users
                .get(id)
                .map(|user| defaults.summary(user))
                .unwrap_or_else(|| defaults.deleted_summary(*id));
            (*id, summary)
        })
        .collect())
}

/// Formats a timestamp as clients expect: RFC 3339, UTC, microseconds, `Z`.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_key_sorts_like_the_number() {
        assert_eq!(user_key(UserId(42)), "000000000042");
        let mut keys: Vec<String> = [9, 10, 100, 2]
            .iter()
            .map(|id| user_key(UserId(*id)))
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "000000000002",
                "000000000009",
                "000000000010",
                "000000000100"
            ]
        );
    }

    #[test]
    fn user_doc_id_round_trips_through_bson() {
        let user = UserDoc {
            id: UserId(7),
            email: "ada@example.com".to_owned(),
            password_hash: String::new(),
            user_type: UserType::Learner,
            is_admin: false,
            industry: None,
            profile: ProfileFields::default(),
            settings: SettingsDoc::default(),
            company: None,
            profile_views: 0,
            created_at: chrono::Utc::now(),
        };
        let document = bson::to_document(&user).expect("encodes");
        assert_eq!(document.get_str("_id").expect("string key"), "000000000007");
        let back: UserDoc = bson::from_document(document).expect("decodes");
        assert_eq!(back.id, UserId(7));
    }
}
