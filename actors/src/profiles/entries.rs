//! Experience, education and certification entries on a profile. The three kinds differ
//! only in their fields, so one table-driven implementation serves all of them: each
//! kind lists its fields with a rule, entries are stored as flat documents of strings,
//! and views keep the field order of the table.

use bson::doc;
use futures_util::TryStreamExt;
use serde_json::{Map, Value};

use crate::choices::{ChoiceField, EMPLOYMENT_CATEGORY};
use crate::ids::{EntryId, Sequence, UserId};
use crate::store::{Store, StoreError, CERTIFICATIONS, EDUCATIONS, EXPERIENCES};
use crate::validation::{check_date, check_length, FieldErrors};

/// What a field accepts.
#[derive(Debug, Clone, Copy)]
pub enum FieldRule {
    /// Free text of at most this many characters.
    Text(usize),
    /// A `YYYY-MM-DD` date.
    Date,
    /// One option of a choice field.
    Choice(ChoiceField),
}

/// One field of an entry kind.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub rule: FieldRule,
    pub required: bool,
}

const fn field(name: &'static str, rule: FieldRule, required: bool) -> FieldSpec {
    FieldSpec {
        name,
        rule,
        required,
    }
}

/// The three kinds of profile entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Experience,
    Education,
    Certification,
}

const EXPERIENCE_FIELDS: &[FieldSpec] = &[
    field("title", FieldRule::Text(200), true),
    field("organization", FieldRule::Text(200), true),
    field("start_date", FieldRule::Date, true),
    field("end_date", FieldRule::Date, false),
    field("location", FieldRule::Text(200), false),
    field(
        "employment_type",
        FieldRule::Choice(EMPLOYMENT_CATEGORY),
        true,
    ),
    field("detail", FieldRule::Text(2000), false),
];

const EDUCATION_FIELDS: &[FieldSpec] = &[
    field("course", FieldRule::Text(200), true),
    field("school", FieldRule::Text(200), true),
    field("start_date", FieldRule::Date, true),
    field("end_date", FieldRule::Date, false),
    field("location", FieldRule::Text(200), false),
    field("detail", FieldRule::Text(2000), false),
];

const CERTIFICATION_FIELDS: &[FieldSpec] = &[
    field("title", FieldRule::Text(200), true),
    field("school", FieldRule::Text(200), true),
    field("issue_date", FieldRule::Date, true),
    field("cert_id", FieldRule::Text(1000), false),
    field("skills", FieldRule::Text(1000), false),
];

impl EntryKind {
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            EntryKind::Experience => EXPERIENCE_FIELDS,
            EntryKind::Education => EDUCATION_FIELDS,
            EntryKind::Certification => CERTIFICATION_FIELDS,
        }
    }

    fn collection(self) -> &'static str {
        match self {
            EntryKind::Experience => EXPERIENCES,
            EntryKind::Education => EDUCATIONS,
            EntryKind::Certification => CERTIFICATIONS,
        }
    }

    fn sequence(self) -> Sequence {
        match self {
            EntryKind::Experience => Sequence::Experiences,
            EntryKind::Education => Sequence::Educations,
            EntryKind::Certification => Sequence::Certifications,
        }
    }

    /// The date entries are listed by, newest first.
    fn sort_field(self) -> &'static str {
        match self {
            EntryKind::Certification => "issue_date",
            _ => "start_date",
        }
    }

    /// Lowercase name used in messages (`experience`, `education`, `certification`).
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Experience => "experience",
            EntryKind::Education => "education",
            EntryKind::Certification => "certification",
        }
    }

    /// Checks submitted values. With `partial`, missing fields are allowed (an update);
    /// otherwise required fields must be present (a new entry). Returns the values to
    /// store, in canonical form.
    ///
    /// # Errors
    /// Field errors for missing, too long, malformed or invalid-choice values, and for an
    /// end date before the start date.
    pub fn validate(
        self,
        values: &Map<String, Value>,
        partial: bool,
    ) -> Result<Map<String, Value>, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut clean = Map::new();
        for spec in self.fields() {
            let raw = match values.get(spec.name) {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) => Some(text.trim().to_owned()),
                Some(Value::Number(number)) => Some(number.to_string()),
                Some(_) => {
                    errors.add(spec.name, "Expected a string.");
                    continue;
                }
            };
            let Some(raw) = raw.filter(|text| !text.is_empty()) else {
                if spec.required && !partial {
                    errors.add(spec.name, "This field is required.");
                } else if values.contains_key(spec.name) {
                    if spec.required {
                        errors.add(spec.name, "This field may not be blank.");
                    } else {
                        clean.insert(spec.name.to_owned(), Value::String(String::new()));
                    }
                }
                continue;
            };
            let stored = match spec.rule {
                FieldRule::Text(max) => {
                    check_length(&mut errors, spec.name, &raw, max);
                    Some(raw)
                }
                FieldRule::Date => {
                    check_date(&mut errors, spec.name, &raw).map(|date| date.to_string())
                }
                FieldRule::Choice(choice) => choice
                    .check(&mut errors, spec.name, &raw)
                    .map(str::to_owned),
            };
            if let Some(stored) = stored {
                clean.insert(spec.name.to_owned(), Value::String(stored));
            }
        }
        errors.into_result()?;
        Ok(clean)
    }

    /// Checks that an entry ends after it starts, on the merged stored and new values.
    fn check_dates(self, merged: &Map<String, Value>) -> Result<(), FieldErrors> {
        let start = merged
            .get("start_date")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let end = merged
            .get("end_date")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !start.is_empty() && !end.is_empty() && end < start {
            return Err(FieldErrors::single(
                "end_date",
                "The end date must not be before the start date.",
            ));
        }
        Ok(())
    }
}

/// Failures of entry operations.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("{0} entry not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<FieldErrors> for EntryError {
    fn from(errors: FieldErrors) -> Self {
        EntryError::Invalid(errors)
    }
}

/// Renders a stored entry as `{"id": …, fields in table order}`.
fn view(kind: EntryKind, document: &bson::Document) -> Map<String, Value> {
    let mut view = Map::new();
    let id = document
        .get_i64("_id")
        .or_else(|_| document.get_i32("_id").map(i64::from))
        .unwrap_or_default();
    view.insert("id".to_owned(), Value::from(id));
    for spec in kind.fields() {
        let value = document.get_str(spec.name).unwrap_or_default();
        let value = if value.is_empty() && matches!(spec.rule, FieldRule::Date) {
            Value::Null
        } else {
            Value::String(value.to_owned())
        };
        view.insert(spec.name.to_owned(), value);
    }
    view
}

/// Entries of `user`, newest first.
///
/// # Errors
/// A [`StoreError`] when the query fails.
pub async fn list(
    store: &Store,
    kind: EntryKind,
    user: UserId,
) -> Result<Vec<Map<String, Value>>, StoreError> {
    let documents: Vec<bson::Document> = store
        .collection::<bson::Document>(kind.collection())
        .find(doc! { "user_id": user })
        .sort(doc! { kind.sort_field(): -1, "_id": -1 })
        .await?
        .try_collect()
        .await?;
    Ok(documents
        .iter()
        .map(|document| view(kind, document))
        .collect())
}

/// Adds an entry to `user`'s profile.
///
/// # Errors
/// [`EntryError::Invalid`] for bad values, [`EntryError::Store`] when writing fails.
pub async fn add(
    store: &Store,
    kind: EntryKind,
    user: UserId,
    values: &Map<String, Value>,
) -> Result<Map<String, Value>, EntryError> {
    let clean = kind.validate(values, false)?;
    kind.check_dates(&clean)?;
    let id = store.ids().next(kind.sequence()).await?;
    let mut document = bson::to_document(&clean).map_err(StoreError::from)?;
    document.insert("_id", id);
    document.insert("user_id", user);
    store
        .collection::<bson::Document>(kind.collection())
        .insert_one(&document)
        .await
        .map_err(StoreError::from)?;
    log::info!("{} added user_id={user} entry_id={id}", kind.label());
    Ok(view(kind, &document))
}

/// Changes the given fields of an entry owned by `user`.
///
/// # Errors
/// [`EntryError::NotFound`] when `user` owns no such entry, [`EntryError::Invalid`] for bad
/// values, [`EntryError::Store`] when the database fails.
pub async fn update(
    store: &Store,
    kind: EntryKind,
    user: UserId,
    id: EntryId,
    values: &Map<String, Value>,
) -> Result<Map<String, Value>, EntryError> {
    let clean = kind.validate(values, true)?;
    let collection = store.collection::<bson::Document>(kind.collection());
    let owned = doc! { "_id": id, "user_id": user };
    let current = collection
        .find_one(owned.clone())
        .await
        .map_err(StoreError::from)?
        .ok_or(EntryError::NotFound(kind.label()))?;
    let mut merged: Map<String, Value> = view(kind, &current);
    merged.extend(clean.clone());
    kind.check_dates(&merged)?;
    if !clean.is_empty() {
        let changes = bson::to_document(&clean).map_err(StoreError::from)?;
        collection
            .update_one(owned, doc! { "$set": changes })
            .await
            .map_err(StoreError::from)?;
    }
    Ok(merged)
}

/// Deletes an entry owned by `user`.
///
/// # Errors
/// [`EntryError::NotFound`] when `user` owns no such entry.
pub async fn delete(
    store: &Store,
    kind: EntryKind,
    user: UserId,
    id: EntryId,
) -> Result<(), EntryError> {
    let deleted = store
        .collection::<bson::Document>(kind.collection())
        .delete_one(doc! { "_id": id, "user_id": user })
        .await
        .map_err(StoreError::from)?;
    if deleted.deleted_count == 0 {
        return Err(EntryError::NotFound(kind.label()));
    }
    log::info!("{} deleted user_id={user} entry_id={id}", kind.label());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn validate_requires_fields_for_new_entry() {
        let errors = EntryKind::Education
            .validate(&map(json!({"course": "Civil Engineering"})), false)
            .expect_err("missing");
        assert!(errors.contains("school"));
        assert!(errors.contains("start_date"));
        assert!(!errors.contains("end_date"));
    }

    #[test]
    fn validate_allows_partial_update() {
        let clean = EntryKind::Experience
            .validate(&map(json!({"location": " Lagos "})), true)
            .expect("partial");
        assert_eq!(clean, map(json!({"location": "Lagos"})));
    }

    #[test]
    fn validate_normalizes_choice_and_checks_dates() {
        let values = map(json!({
            "title": "Engineer", "organization": "Acme", "start_date": "2022-01-05",
            "employment_type": "remote",
        }));
        let clean = EntryKind::Experience
            .validate(&values, false)
            .expect("valid");
        assert_eq!(clean["employment_type"], "Remote");
        let errors = EntryKind::Experience
            .validate(
                &map(json!({"start_date": "05/01/2022", "employment_type": "office"})),
                true,
            )
            .expect_err("invalid");
        assert!(errors.contains("start_date"));
        assert!(errors.contains("employment_type"));
    }

    #[test]
    fn check_dates_rejects_end_before_start() {
        let merged = map(json!({"start_date": "2024-01-01", "end_date": "2023-12-31"}));
        assert!(EntryKind::Education.check_dates(&merged).is_err());
    }
}
