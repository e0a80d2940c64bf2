//! Accounts: parsing of usernames and passwords at the edge, sign-up and log-in. Password
//! hashing runs on a bounded pool ([`hasher`]); failed log-ins are throttled per account
//! ([`throttle`]). Log-in does the same work for an unknown user as for a wrong password.

pub mod hasher;
mod service;
pub mod throttle;
mod username;

pub use hasher::{HashError, Hasher};
pub use service::AccountsService;
pub use throttle::{LoginThrottle, ThrottlePolicy};
pub use username::{key_of, skeleton_of, Username, USERNAME_MAX, USERNAME_MIN};

use crate::store::{Store, StoreError, User};

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

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
    #[error("that username looks like an existing one")]
    UsernameLookalike,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("password checks are queued to capacity")]
    Busy,
    #[error(transparent)]
    Store(StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UsernameTaken => Self::UsernameTaken,
            StoreError::UsernameLookalike => Self::UsernameLookalike,
            other => Self::Store(other),
        }
    }
}

impl From<HashError> for AccountError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Busy,
            HashError::Failed(message) => Self::Hash(message),
        }
    }
}

/// A hash of a password nobody knows, verified against when the username does not exist so
/// that the answer takes as long as for a wrong password. Made once per process on the hashing
/// pool (start-up warms it), so it costs no memory outside the pool's buffers.
pub async fn dummy_hash(hasher: &Hasher) -> Result<&'static str, AccountError> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let hash = DUMMY
        .get_or_try_init(|| hasher.hash(crate::crypto::random_token()))
        .await?;
    Ok(hash.as_str())
}

pub async fn sign_up(
    store: &dyn Store,
    hasher: &Hasher,
    username: &Username,
    password: Password,
    now: i64,
) -> Result<User, AccountError> {
    // Refuse a taken or look-alike name before spending a hash on it.
    if store
        .username_in_use(&username.key(), &username.skeleton())
        .await?
    {
        return Err(
            if store.user_by_username_key(&username.key()).await?.is_some() {
                AccountError::UsernameTaken
            } else {
                AccountError::UsernameLookalike
            },
        );
    }
    let hash = hasher.hash(password.0).await?;
    Ok(store
        .create_user(
            username.as_str(),
            &username.key(),
            &username.skeleton(),
            &hash,
            now,
        )
        .await?)
}

/// Checks a log-in. Unknown users and wrong passwords give the same error after the same work.
pub async fn log_in(
    store: &dyn Store,
    hasher: &Hasher,
    username: &str,
    password: &str,
) -> Result<User, AccountError> {
    let found = store.user_by_username_key(&key_of(username)).await?;
    let hash = match &found {
        Some(user) => user.password_hash.clone(),
        None => dummy_hash(hasher).await?.to_owned(),
    };
    let ok = hasher.verify(password.to_owned(), hash).await?;
    match found {
        Some(user) if ok => Ok(user.user),
        _ => Err(AccountError::BadCredentials),
    }
}

/// Gives users created before usernames were normalised their NFKC key and skeleton. A user
/// whose skeleton another user already has keeps none (and so cannot be impersonated by a new
/// sign-up either: the older account's skeleton is taken); this is logged.
pub async fn backfill_username_keys(store: &dyn Store) -> Result<(), StoreError> {
    for user in store.users_without_skeleton().await? {
        let key = key_of(&user.username);
        let skeleton = skeleton_of(&key);
        if !store.set_username_keys(user.id, &key, &skeleton).await? {
            tracing::warn!(user = %user.id, "an older username looks like another one; it keeps working but has no look-alike protection of its own");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_bounded_and_hidden_from_debug() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"p".repeat(129)).is_err());
        let password = Password::parse("correct horse").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
