//! Field-level validation errors in the shape clients parse: `{"field": ["message", …]}`.

use std::collections::BTreeMap;

use serde::Serialize;

/// Messages per request field; empty when the input is valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// One error on one field.
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn merge(&mut self, other: FieldErrors) {
        for (field, messages) in other.0 {
            self.0.entry(field).or_default().extend(messages);
        }
    }

    /// `Ok(())` when nothing was recorded, else the errors.
    ///
    /// # Errors
    /// `self` when at least one field has a message.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Iterates over `(field, messages)` in field order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.0.iter()
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&str> = self.0.keys().map(String::as_str).collect();
        write!(f, "invalid fields: {}", fields.join(", "))
    }
}

/// Checks that a free-text field is at most `max` characters long.
pub fn check_length(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.add(
            field,
            format!("Ensure this field has no more than {max} characters."),
        );
    }
}

/// Checks a `YYYY-MM-DD` date and returns it when valid.
pub fn check_date(errors: &mut FieldErrors, field: &str, value: &str) -> Option<chrono::NaiveDate> {
    match chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            errors.add(
                field,
                format!("'{value}' is not a valid date; use the format YYYY-MM-DD."),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_serialize_as_drf_shape() {
        let mut errors = FieldErrors::single("email", "This field is required.");
        errors.add("email", "Enter a valid email address.");
        let json = serde_json::to_value(&errors).expect("serializable");
        assert_eq!(
            json,
            serde_json::json!({"email": ["This field is required.", "Enter a valid email address."]})
        );
    }

    #[test]
    fn check_date_rejects_other_formats() {
        let mut errors = FieldErrors::new();
        assert!(check_date(&mut errors, "start_date", "2024-02-30").is_none());
        assert!(check_date(&mut errors, "start_date", "12/01/2024").is_none());
        assert!(check_date(&mut errors, "end_date", "2024-02-29").is_some());
        assert!(errors.contains("start_date"));
        assert!(!errors.contains("end_date"));
    }
}
