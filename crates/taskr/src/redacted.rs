//! A string that `Debug` never prints: client secrets, tokens and passwords in settings. A leaf,
//! so that configuration and the provider declarations can both use it.

/// A string that `Debug` never prints.
#[derive(Clone)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}
