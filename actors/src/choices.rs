//! Choice fields: the closed lists of values some request fields accept.
//!
//! `GET /info/choice-data/` serves these lists, and every area validates against them,
//! so a client that reads the lists never sends a value the server rejects.

use crate::validation::FieldErrors;

/// One choice field and its valid options, in the spelling stored and returned.
#[derive(Debug, Clone, Copy)]
pub struct ChoiceField {
    pub name: &'static str,
    pub options: &'static [&'static str],
}

pub const INDUSTRY: ChoiceField = ChoiceField {
    name: "industry",
    options: &[
        "agriculture",
        "banking",
        "business",
        "commerce",
        "construction",
        "education",
        "entertainment",
        "government",
        "health",
        "manufacturing",
        "media",
        "others",
        "sports",
        "technology",
        "transportation",
    ],
};

/// Employment type of a job post or job preference.
pub const EMPLOYMENT_TYPE: ChoiceField = ChoiceField {
    name: "employment_type",
    options: &[
        "full_time",
        "part_time",
        "internship",
        "freelance",
        "contract",
    ],
};

/// Kinds of account.
pub const USER: ChoiceField = ChoiceField {
    name: "user",
    options: &["learner", "mentor", "employer"],
};

/// Arrangement of a past position on a profile (the `employment_type` of an experience
/// entry).
pub const EMPLOYMENT_CATEGORY: ChoiceField = ChoiceField {
    name: "employment_category",
    options: &["Onsite", "Remote", "Hybrid"],
};

pub const EXPERIENCE_LEVEL: ChoiceField = ChoiceField {
    name: "experience_level",
    options: &["entry", "mid", "senior", "executive"],
};

pub const WORK_TYPE: ChoiceField = ChoiceField {
    name: "work_type",
    options: &["remote", "onsite", "hybrid"],
};

/// When a mentor takes sessions.
pub const AVAILABILITY: ChoiceField = ChoiceField {
    name: "availability",
    options: &["weekdays", "weekends"],
};

/// Every choice field, in the order `GET /info/choice-data/` lists them.
pub const ALL: &[ChoiceField] = &[
    INDUSTRY,
    EMPLOYMENT_TYPE,
    USER,
    EMPLOYMENT_CATEGORY,
    EXPERIENCE_LEVEL,
    WORK_TYPE,
    AVAILABILITY,
];

/// Finds a choice field by name.
pub fn field(name: &str) -> Option<ChoiceField> {
    ALL.iter().copied().find(|field| field.name == name)
}

impl ChoiceField {
    /// Returns the canonical spelling of `value`, matched case-insensitively.
    pub fn parse(&self, value: &str) -> Option<&'static str> {
        let value = value.trim();
        self.options
            .iter()
            .copied()
            .find(|option| option.eq_ignore_ascii_case(value))
    }

    /// Like [`ChoiceField::parse`], recording an error that lists the valid options
    /// under `request_field` (the name the request used, which may differ from
    /// the choice field's own name).
    pub fn check(
        &self,
        errors: &mut FieldErrors,
        request_field: &str,
        value: &str,
    ) -> Option<&'static str> {
        let parsed = self.parse(value);
        if parsed.is_none() {
            errors.add(request_field, self.invalid_message(value));
        }
        parsed
    }

    pub fn invalid_message(&self, value: &str) -> String {
        format!(
            "'{value}' is not a valid choice. Valid options: {} (GET /info/choice-data/?field_name={}).",
            self.options.join(", "),
            self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_matches_case_insensitively() {
        assert_eq!(INDUSTRY.parse("Technology"), Some("technology"));
        assert_eq!(EMPLOYMENT_CATEGORY.parse("remote"), Some("Remote"));
        assert_eq!(INDUSTRY.parse("tech"), None);
    }

    #[test]
    fn invalid_message_lists_options() {
        let message = WORK_TYPE.invalid_message("office");
        assert!(message.contains("remote, onsite, hybrid"), "{message}");
        assert!(message.contains("field_name=work_type"), "{message}");
    }
}
