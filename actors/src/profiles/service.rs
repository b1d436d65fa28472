//! The rules behind each profiles message.

use bson::doc;
use futures_util::TryStreamExt;

use super::*;
use crate::choices::AVAILABILITY;
use crate::graph;
use crate::store::{POSTS, USERS};
use crate::users::{find_user, user_key, SettingsDoc, UserDoc, UserType};
use crate::validation::check_length;

/// Shared state of the profiles actor.
pub struct ProfilesService {
    store: Store,
    media: MediaStore,
    defaults: MediaDefaults,
}

/// Fields only mentors may set.
const MENTOR_ONLY: [&str; 8] = [
    "years_of_experience",
    "areas_of_expertise",
    "availability",
    "current_job",
    "technical_skills",
    "mentorship_styles",
    "linkedin_url",
    "session_rate",
];

impl ProfilesService {
    pub fn new(store: Store, media: MediaStore, defaults: MediaDefaults) -> Self {
        Self {
            store,
            media,
            defaults,
        }
    }

    pub async fn get_profile(&self, request: GetProfile) -> Result<ProfileView, ProfilesError> {
        let target = request.user_id.unwrap_or(request.viewer);
        let user = self.user(target).await?;
        if target != request.viewer {
            self.store
                .collection::<UserDoc>(USERS)
                .update_one(
                    doc! { "_id": user_key(target) },
                    doc! { "$inc": { "profile_views": 1 } },
                )
                .await
                .map_err(StoreError::from)?;
        }
        self.profile_view(request.viewer, &user).await
    }

    pub async fn update_profile(
        &self,
        request: UpdateProfile,
    ) -> Result<ProfileView, ProfilesError> {
        let user = self.user(request.user).await?;
        let mut set = check_changes(&user, &request.changes)?;
        check_uploads(&request.uploads)?;

        for upload in &request.uploads {
            let key = format!(
                "{}/{}{}",
                upload.field.folder(),
                uuid::Uuid::new_v4().simple(),
                file_extension(&upload.file_name)
            );
            let url = self
                .media
                .put_file(&key, &upload.path, &upload.content_type)
                .await?;
            log::info!(
                "media stored user_id={} field={} key={key}",
                user.id,
                upload.field.name()
            );
            set.insert(upload.field.name(), url);
        }
        for field in &request.changes.cleared_media {
            set.insert(field.name(), bson::Bson::Null);
        }
        if !set.is_empty() {
            self.store
                .collection::<UserDoc>(USERS)
                .update_one(doc! { "_id": user_key(user.id) }, doc! { "$set": set })
                .await
                .map_err(StoreError::from)?;
        }
        let updated = self.user(request.user).await?;
        self.profile_view(request.user, &updated).await
    }

    pub async fn update_industry(
        &self,
        request: UpdateIndustry,
    ) -> Result<IndustryView, ProfilesError> {
        let user = self.user(request.user).await?;
        let user_type = match request.user_type {
            None => user.user_type,
            Some(UserType::Employer) => {
                return Err(FieldErrors::single(
                    "user_type",
                    "Company accounts are created with /user/corporate/signup/.",
                )
                .into())
            }
            Some(_) if user.user_type == UserType::Employer => {
                return Err(FieldErrors::single(
                    "user_type",
                    "A company account cannot become a learner or mentor.",
                )
                .into())
            }
            Some(requested) => requested,
        };
        self.store
            .collection::<UserDoc>(USERS)
            .update_one(
                doc! { "_id": user_key(user.id) },
                doc! { "$set": { "industry": request.industry, "user_type": user_type.as_str() } },
            )
            .await
            .map_err(StoreError::from)?;
        log::info!(
            "industry updated user_id={} user_type={}",
            user.id,
            user_type.as_str()
        );
        Ok(IndustryView {
            industry: request.industry.to_owned(),
            email: user.email,
            user_type: user_type.as_str().to_owned(),
        })
    }

    pub async fn list_entries(
        &self,
        request: ListEntries,
    ) -> Result<Vec<Map<String, Value>>, ProfilesError> {
        Ok(entries::list(&self.store, request.kind, request.user).await?)
    }

    pub async fn add_entry(&self, request: AddEntry) -> Result<Map<String, Value>, ProfilesError> {
        Ok(entries::add(&self.store, request.kind, request.user, &request.values).await?)
    }

    pub async fn update_entry(
        &self,
        request: UpdateEntry,
    ) -> Result<Map<String, Value>, ProfilesError> {
        Ok(entries::update(
            &self.store,
            request.kind,
            request.user,
            request.id,
            &request.values,
        )
        .await?)
    }

    pub async fn delete_entry(&self, request: DeleteEntry) -> Result<(), ProfilesError> {
        Ok(entries::delete(&self.store, request.kind, request.user, request.id).await?)
    }

    pub async fn get_settings(&self, request: GetSettings) -> Result<SettingsView, ProfilesError> {
        let user = self.user(request.user).await?;
        Ok(settings_view(&user.settings, &user.profile.timezone))
    }

    pub async fn update_settings(
        &self,
        request: UpdateSettings,
    ) -> Result<SettingsView, ProfilesError> {
        let mut set = bson::Document::new();
        if let Some(timezone) = &request.changes.timezone {
            set.insert("timezone", check_timezone(timezone)?);
        }
        for (name, value) in &request.changes.flags {
            set.insert(format!("settings.{name}"), *value);
        }
        if !set.is_empty() {
            let updated = self
                .store
                .collection::<UserDoc>(USERS)
                .update_one(doc! { "_id": user_key(request.user) }, doc! { "$set": set })
                .await
                .map_err(StoreError::from)?;
            if updated.matched_count == 0 {
                return Err(ProfilesError::UserNotFound(request.user));
            }
        }
        self.get_settings(GetSettings { user: request.user }).await
    }

    pub async fn get_completion(
        &self,
        request: GetCompletion,
    ) -> Result<CompletionView, ProfilesError> {
        let user = self.user(request.user).await?;
        let has_experience = !entries::list(&self.store, EntryKind::Experience, user.id)
            .await?
            .is_empty();
        let has_certification = !entries::list(&self.store, EntryKind::Certification, user.id)
            .await?
            .is_empty();
        let has_education = !entries::list(&self.store, EntryKind::Education, user.id)
            .await?
            .is_empty();
        let items = [
            ("profile_photo", user.profile.profile_photo.is_some()),
            ("intro_video", user.profile.intro_video.is_some()),
            ("experience", has_experience),
            ("certification", has_certification),
            ("bio", !user.profile.bio.trim().is_empty()),
            ("education", has_education),
        ];
        let complete_items: Vec<&'static str> = items
            .iter()
            .filter(|(_, done)| *done)
            .map(|(name, _)| *name)
            .collect();
        let incomplete_items: Vec<&'static str> = items
            .iter()
            .filter(|(_, done)| !*done)
            .map(|(name, _)| *name)
            .collect();
        let completion = u32::try_from(complete_items.len() * 100 / items.len()).unwrap_or(100);
        Ok(CompletionView {
            completion,
            incomplete_items,
            complete_items,
        })
    }

    pub async fn get_analytics(
        &self,
        request: GetAnalytics,
    ) -> Result<AnalyticsView, ProfilesError> {
        let target = request.user_id.unwrap_or(request.viewer);
        let user = self.user(target).await?;
        if target != request.viewer && !user.settings.show_analytics {
            return Err(ProfilesError::AnalyticsPrivate(target));
        }
        // Posts carry their author's id in `author`.
        let total_posts = self
            .store
            .collection::<bson::Document>(POSTS)
            .count_documents(doc! { "author": target })
            .await
            .map_err(StoreError::from)?;
        Ok(AnalyticsView {
            total_posts,
            total_views: user.profile_views,
            total_connections: graph::connection_count(&self.store, target).await?,
        })
    }

    pub async fn search_users(
        &self,
        request: SearchUsers,
    ) -> Result<(Vec<SearchResultView>, u64), ProfilesError> {
        let words: Vec<&str> = request.keyword.split_whitespace().take(8).collect();
        if words.is_empty() {
            return Err(
                FieldErrors::single("keyword", "Give at least one word to search for.").into(),
            );
        }
        let fields = [
            "first_name",
            "last_name",
            "middle_name",
            "position",
            "current_job",
            "qualification",
            "bio",
            "location",
            "industry",
            "technical_skills",
            "areas_of_expertise",
            "company.company_name",
        ];
        let all_words: Vec<bson::Document> = words
            .iter()
            .map(|word| {
                let pattern = bson::Regex {
                    pattern: regex::escape(word),
                    options: "i".to_owned(),
                };
                let any_field: Vec<bson::Document> = fields
                    .iter()
                    .map(|field| doc! { *field: pattern.clone() })
                    .collect();
                doc! { "$or": any_field }
            })
            .collect();
        let filter = doc! { "$and": all_words };
        let users = self.store.collection::<UserDoc>(USERS);
        let total = users
            .count_documents(filter.clone())
            .await
            .map_err(StoreError::from)?;
        let page: Vec<UserDoc> = users
            .find(filter)
            .sort(doc! { "_id": 1 })
            .skip(request.offset)
            .limit(request.limit)
            .await
            .map_err(StoreError::from)?
            .try_collect()
            .await
            .map_err(StoreError::from)?;
        let ids: Vec<UserId> = page.iter().map(|user| user.id).collect();
        let followers = graph::follower_counts(&self.store, &ids).await?;
        let results = page
            .iter()
            .map(|user| SearchResultView {
                id: user.id,
                name: user.display_name(),
                qualification: user.profile.qualification.clone(),
                profile_photo: self.defaults.profile_photo(&user.profile.profile_photo),
                followers: followers.get(&user.id).copied().unwrap_or(0),
                user_type: user.user_type.as_str().to_owned(),
            })
            .collect();
        Ok((results, total))
    }

    async fn user(&self, id: UserId) -> Result<UserDoc, ProfilesError> {
        find_user(&self.store, id)
            .await?
            .ok_or(ProfilesError::UserNotFound(id))
    }

    async fn profile_view(
        &self,
        viewer: UserId,
        user: &UserDoc,
    ) -> Result<ProfileView, ProfilesError> {
        let own = viewer == user.id;
        let profile = &user.profile;
        let experience = entries::list(&self.store, EntryKind::Experience, user.id).await?;
        let education = entries::list(&self.store, EntryKind::Education, user.id).await?;
        let certification = entries::list(&self.store, EntryKind::Certification, user.id).await?;
        let followers = graph::follower_count(&self.store, user.id).await?;
        let followings = graph::following_count(&self.store, user.id).await?;
        let (can_message, can_follow) = if own {
            (false, false)
        } else {
            (
                graph::are_connected(&self.store, viewer, user.id).await?,
                !graph::is_following(&self.store, viewer, user.id).await?,
            )
        };
        let mentor = (user.user_type == UserType::Mentor).then(|| MentorFieldsView {
            years_of_experience: profile.years_of_experience,
            availability: profile.availability.clone(),
            current_job: profile.current_job.clone(),
            areas_of_expertise: profile.areas_of_expertise.clone(),
            technical_skills: profile.technical_skills.clone(),
            mentorship_styles: profile.mentorship_styles.clone(),
            linkedin_url: profile.linkedin_url.clone(),
            session_rate: profile.session_rate.clone(),
            rating: profile.rating,
        });
        let company = user.company.as_ref().map(|company| CompanyView {
            company_name: company.company_name.clone(),
            company_type: company.company_type.clone(),
            company_size: company.company_size.clone(),
            website: company.website.clone(),
            tagline: company.tagline.clone(),
        });
        Ok(ProfileView {
            id: user.id,
            first_name: profile.first_name.clone(),
            last_name: profile.last_name.clone(),
            middle_name: profile.middle_name.clone(),
            country_code: profile.country_code.clone(),
            phone_number: profile.phone_number.clone(),
            cover_photo: self.defaults.cover_photo(&profile.cover_photo),
            profile_photo: self.defaults.profile_photo(&profile.profile_photo),
            location: profile.location.clone(),
            position: profile.position.clone(),
            bio: profile.bio.clone(),
            qualification: profile.qualification.clone(),
            intro_video: profile.intro_video.clone().unwrap_or_default(),
            summary: profile.summary.clone(),
            experience,
            education,
            certification,
            mentor,
            company,
            resume: profile.resume.clone().unwrap_or_default(),
            timezone: profile.timezone.clone(),
            followers,
            followings,
            user_type: user.user_type.as_str().to_owned(),
            industry: user.industry.clone(),
            can_message,
            can_follow,
            email: (own || user.settings.show_email).then(|| user.email.clone()),
        })
    }
}

fn settings_view(settings: &SettingsDoc, timezone: &str) -> SettingsView {
    SettingsView {
        email_notify: settings.email_notify,
        push_notify: settings.push_notify,
        message_notify: settings.message_notify,
        weekly_summary: settings.weekly_summary,
        job_alerts: settings.job_alerts,
        marketing: settings.marketing,
        show_email: settings.show_email,
        show_activity: settings.show_activity,
        show_location: settings.show_location,
        show_analytics: settings.show_analytics,
        timezone: timezone.to_owned(),
    }
}

/// Checks an IANA time zone name and returns it in canonical spelling.
fn check_timezone(value: &str) -> Result<String, FieldErrors> {
    value
        .trim()
        .parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| {
            FieldErrors::single(
                "timezone",
                format!("'{value}' is not a known IANA time zone; use a name such as Africa/Lagos or Europe/London."),
            )
        })
}

/// Validates profile changes against the account type and returns the `$set` document.
fn check_changes(user: &UserDoc, changes: &ProfileChanges) -> Result<bson::Document, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut set = bson::Document::new();

    let texts = [
        ("first_name", &changes.first_name, 100),
        ("last_name", &changes.last_name, 100),
        ("middle_name", &changes.middle_name, 100),
        ("qualification", &changes.qualification, 300),
        ("location", &changes.location, 200),
        ("summary", &changes.summary, 3000),
        ("position", &changes.position, 200),
        ("bio", &changes.bio, 300),
        ("current_job", &changes.current_job, 200),
        ("session_rate", &changes.session_rate, 50),
    ];
    for (name, value, max) in texts {
        if let Some(value) = value {
            let value = value.trim();
            check_length(&mut errors, name, value, max);
            set.insert(name, value);
        }
    }
    if let Some(code) = &changes.country_code {
        let code = code.trim();
        let digits = code.strip_prefix('+').unwrap_or("x");
        if !(1..=4).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            errors.add("country_code", "Enter a country calling code such as +234.");
        }
        set.insert("country_code", code);
    }
    if let Some(phone) = &changes.phone_number {
        let phone = phone.trim();
        if !(6..=15).contains(&phone.len()) || !phone.chars().all(|c| c.is_ascii_digit()) {
            errors.add(
                "phone_number",
                "Enter 6 to 15 digits without the country code.",
            );
        }
        set.insert("phone_number", phone);
    }
    if let Some(timezone) = &changes.timezone {
        match check_timezone(timezone) {
            Ok(name) => {
                set.insert("timezone", name);
            }
            Err(timezone_errors) => errors.merge(timezone_errors),
        }
    }
    if let Some(availability) = &changes.availability {
        if let Some(choice) = AVAILABILITY.check(&mut errors, "availability", availability) {
            set.insert("availability", choice);
        }
    }
    if let Some(years) = changes.years_of_experience {
        if !(0..=80).contains(&years) {
            errors.add(
                "years_of_experience",
                "Enter a whole number of years from 0 to 80.",
            );
        }
        set.insert("years_of_experience", years);
    }
    let lists = [
        ("areas_of_expertise", &changes.areas_of_expertise),
        ("technical_skills", &changes.technical_skills),
        ("mentorship_styles", &changes.mentorship_styles),
    ];
    for (name, list) in lists {
        if let Some(list) = list {
            let items: Vec<String> = list
                .iter()
                .map(|item| item.trim().to_owned())
                .filter(|item| !item.is_empty())
                .collect();
            if items.len() > 30 || items.iter().any(|item| item.chars().count() > 100) {
                errors.add(
                    name,
                    "Give at most 30 items of at most 100 characters each.",
                );
            }
            set.insert(name, items);
        }
    }
    if let Some(url) = &changes.linkedin_url {
        match url.as_deref().map(str::trim).filter(|url| !url.is_empty()) {
            Some(url) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 300 {
                    errors.add(
                        "linkedin_url",
                        "Enter an http(s) URL of at most 300 characters.",
                    );
                }
                set.insert("linkedin_url", url);
            }
            None => {
                set.insert("linkedin_url", bson::Bson::Null);
            }
        }
    }
    if user.user_type != UserType::Mentor {
        for field in MENTOR_ONLY {
            if set.contains_key(field) {
                errors.add(field, "Only mentors can set this field.");
            }
        }
    }
    errors.into_result()?;
    Ok(set)
}

fn check_uploads(uploads: &[MediaUpload]) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    for upload in uploads {
        let accepted = upload.field.accepted_types();
        if !accepted.contains(&upload.content_type.as_str()) {
            errors.add(
                upload.field.name(),
                format!(
                    "Files of type {} are not accepted here; send one of: {}.",
                    upload.content_type,
                    accepted.join(", ")
                ),
            );
        }
    }
    errors.into_result()
}

/// The extension of an uploaded file's name (`.png`), or nothing when it has none or an
/// unusual one; the rest of the client's name is not used in object keys.
fn file_extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((_, ext))
            if (1..=8).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            format!(".{}", ext.to_ascii_lowercase())
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_timezone_accepts_iana_names() {
        assert_eq!(
            check_timezone("Africa/Lagos").expect("valid"),
            "Africa/Lagos"
        );
        assert_eq!(
            check_timezone("Canada/Central").expect("valid"),
            "Canada/Central"
        );
        assert!(check_timezone("Lagos").is_err());
        assert!(check_timezone("GMT+1 Lagos").is_err());
    }

    #[test]
    fn file_extension_keeps_plain_extensions_only() {
        assert_eq!(file_extension("Photo.JPG"), ".jpg");
        assert_eq!(file_extension("../../etc/passwd"), "");
        assert_eq!(file_extension("archive.tar.gz"), ".gz");
        assert_eq!(file_extension("x.p%g"), "");
    }
}
