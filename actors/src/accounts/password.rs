//! Password rules and bcrypt hashing. Hashing runs on tokio's blocking pool because one
//! bcrypt call takes tens to hundreds of milliseconds of CPU at production cost.

use crate::validation::FieldErrors;

const MIN_CHARS: usize = 8;
/// bcrypt reads at most 72 bytes; a longer password would be silently truncated.
const MAX_BYTES: usize = 72;
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty123",
    "qwertyuiop",
    "iloveyou1",
    "abc12345",
    "letmein1",
    "welcome1",
    "admin123",
    "careernexus1",
];

/// Checks the two password fields of a sign-up or reset form. `email` is used to reject
/// passwords built from the address.
pub fn check_new_password(
    password1: &str,
    password2: &str,
    email: &str,
) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    if password1 != password2 {
        errors.add("password2", "The two password fields didn't match.");
        return Err(errors);
    }
    if password1.chars().count() < MIN_CHARS {
        errors.add(
            "password1",
            format!("This password is too short. It must contain at least {MIN_CHARS} characters."),
        );
    }
    if password1.len() > MAX_BYTES {
        errors.add(
            "password1",
            format!("This password is too long. It must be at most {MAX_BYTES} bytes."),
        );
    }
    if password1.chars().all(|c| c.is_ascii_digit()) {
        errors.add("password1", "This password is entirely numeric.");
    } else if !password1.chars().any(char::is_alphabetic)
        || !password1.chars().any(|c| c.is_ascii_digit())
    {
        errors.add(
            "password1",
            "This password must contain at least one letter and one digit.",
        );
    }
    if COMMON.contains(&password1.to_lowercase().as_str()) {
        errors.add("password1", "This password is too common.");
    }
    let local_part = email.split('@').next().unwrap_or_default().to_lowercase();
    if local_part.len() >= 4 && password1.to_lowercase().contains(&local_part) {
        errors.add(
            "password1",
            "The password is too similar to the email address.",
        );
    }
    errors.into_result()
}

/// Failure of the blocking hashing task.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("bcrypt failed: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
    #[error("hashing task did not finish: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Hashes `password` with bcrypt at `cost` on the blocking pool.
///
/// # Errors
/// A [`HashError`] when bcrypt rejects the input or the task panics.
pub async fn hash(password: String, cost: u32) -> Result<String, HashError> {
    let hashed = tokio::task::spawn_blocking(move || bcrypt::hash(password, cost)).await??;
    Ok(hashed)
}

/// Compares `password` with a stored bcrypt hash on the blocking pool. A malformed hash
/// counts as a mismatch.
///
/// # Errors
/// A [`HashError`] when the task panics.
pub async fn verify(password: String, stored_hash: String) -> Result<bool, HashError> {
    let matches = tokio::task::spawn_blocking(move || {
        bcrypt::verify(password, &stored_hash).unwrap_or(false)
    })
    .await?;
    Ok(matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_accepts_strong_password() {
        assert!(check_new_password("Harbor#2026x", "Harbor#2026x", "ada@example.com").is_ok());
    }

    #[test]
    fn check_rejects_weak_passwords() {
        let cases = [
            ("Ab1", "too short"),
            ("12345678901", "entirely numeric"),
            ("onlyletters", "letter and one digit"),
            ("Password1", "too common"),
            ("adaokafor99", "similar to the email"),
        ];
        for (password, expected) in cases {
            let errors = check_new_password(password, password, "adaokafor@example.com")
                .expect_err(password);
            let messages: Vec<&String> = errors.iter().flat_map(|(_, m)| m).collect();
            assert!(
                messages.iter().any(|m| m.contains(expected)),
                "{password}: expected '{expected}' in {messages:?}"
            );
        }
    }

    #[test]
    fn check_rejects_mismatch_on_password2() {
        let errors =
            check_new_password("Harbor#2026x", "Harbor#2026y", "a@b.co").expect_err("mismatch");
        assert!(errors.contains("password2"));
    }

    #[tokio::test]
    async fn hash_then_verify_round_trips() {
        let hashed = hash("Harbor#2026x".into(), 4).await.expect("hash");
        assert!(verify("Harbor#2026x".into(), hashed.clone())
            .await
            .expect("verify"));
        assert!(!verify("wrong".into(), hashed).await.expect("verify"));
        assert!(!verify("x".into(), "not-a-hash".into())
            .await
            .expect("verify"));
    }
}
