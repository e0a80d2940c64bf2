//! Accounts: parsing of usernames and passwords at the edge, and Argon2id hashing off the async
//! runtime. Log-in does the same work for an unknown user as for a wrong password.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::store::{Store, StoreError, User};

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 64;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

/// A trimmed username of 3 to 64 characters, unique regardless of case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        let length = name.chars().count();
        if length < USERNAME_MIN {
            return Err("Usernames need at least 3 characters.");
        }
        if length > USERNAME_MAX {
            return Err("Usernames can have at most 64 characters.");
        }
        if name.chars().any(|c| c.is_control()) {
            return Err("Usernames cannot contain control characters.");
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form under which uniqueness is checked.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A password of 8 to 128 characters. `Debug` hides it.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let length = raw.chars().count();
        if length < PASSWORD_MIN {
            return Err("Passwords need at least 8 characters.");
        }
        if length > PASSWORD_MAX {
            return Err("Passwords can have at most 128 characters.");
        }
        Ok(Self(raw.to_owned()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("that username is taken")]
    UsernameTaken,
    #[error("wrong username or password")]
    BadCredentials,
    #[error(transparent)]
    Store(StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UsernameTaken => Self::UsernameTaken,
            other => Self::Store(other),
        }
    }
}

async fn hash_password(password: Password) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AccountError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| AccountError::Hash(e.to_string()))?
}

async fn verify_password(password: String, hash: String) -> Result<bool, AccountError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| AccountError::Hash(e.to_string()))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| AccountError::Hash(e.to_string()))?
}

/// A hash of a password nobody knows, verified against when the username does not exist so
/// that the answer takes as long as for a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(crate::crypto::random_token().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

pub async fn sign_up(
    store: &dyn Store,
    username: &Username,
    password: Password,
    now: i64,
) -> Result<User, AccountError> {
    let hash = hash_password(password).await?;
    Ok(store
        .create_user(username.as_str(), &username.key(), &hash, now)
        .await?)
}

/// Checks a log-in. Unknown users and wrong passwords give the same error after the same work.
pub async fn log_in(
    store: &dyn Store,
    username: &str,
    password: &str,
) -> Result<User, AccountError> {
    let key = username.trim().to_lowercase();
    let found = store.user_by_username_key(&key).await?;
    let hash = match &found {
        Some(user) => user.password_hash.clone(),
        None => tokio::task::spawn_blocking(|| dummy_hash().to_owned())
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))?,
    };
    let ok = verify_password(password.to_owned(), hash).await?;
    match found {
        Some(user) if ok => Ok(user.user),
        _ => Err(AccountError::BadCredentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_bounded_and_compared_without_case() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("  Alice  ", Ok("Alice")),
            ("ab", Err("at least 3")),
            ("   ab   ", Err("at least 3")),
            (&"x".repeat(65), Err("at most 64")),
            ("bad\u{7}name", Err("control")),
            ("Zoë", Ok("Zoë")),
        ];
        for (raw, expected) in cases {
            match (Username::parse(raw), expected) {
                (Ok(name), Ok(want)) => assert_eq!(name.as_str(), *want),
                (Err(message), Err(fragment)) => {
                    assert!(message.contains(fragment), "{raw:?}: {message}")
                }
                (got, want) => panic!("{raw:?}: got {got:?}, want {want:?}"),
            }
        }
        assert_eq!(Username::parse("ALICE").unwrap().key(), "alice");
        assert!(Username::parse(&"é".repeat(64)).is_ok());
    }

    #[test]
    fn passwords_are_bounded_and_hidden_from_debug() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"p".repeat(129)).is_err());
        let password = Password::parse("correct horse").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
