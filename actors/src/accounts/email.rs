//! The `Email` newtype: a syntactically valid address, lowercased.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An email address as stored: trimmed, lowercased, checked by `email_address`.
/// Lowercasing the whole address makes sign-in case-insensitive without collations,
/// which FerretDB lacks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses an address typed by a user.
    ///
    /// # Errors
    /// A message naming the problem when the value is not an address.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim().to_lowercase();
        if value.is_empty() {
            return Err("This field may not be blank.".to_owned());
        }
        if value.len() > 254
            || !email_address::EmailAddress::is_valid(&value)
            || !value.contains('.')
        {
            return Err("Enter a valid email address.".to_owned());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_lowercases_and_trims() {
        assert_eq!(
            Email::parse("  Ada.Okafor@Example.COM ")
                .expect("valid")
                .as_str(),
            "ada.okafor@example.com"
        );
    }

    #[test]
    fn parse_rejects_non_addresses() {
        for value in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@@example.com",
            "ada@localhost",
        ] {
            assert!(Email::parse(value).is_err(), "{value} should be rejected");
        }
    }
}
