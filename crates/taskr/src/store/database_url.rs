//! The database URL: which backend it names, and a form safe to print. A PostgreSQL URL may
//! carry a password (in its user info or a `password=` parameter); `Debug` and `Display` never
//! show it, and neither does any error made here, so the URL can go into logs and messages.

use std::fmt;

/// Which store implementation a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one Taskr instance (the embedded default).
    Sqlite,
    /// A server that several Taskr instances may share.
    Postgres,
}

#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    backend: Backend,
}

impl DatabaseUrl {
    /// Accepts `sqlite:…`, `postgres://…` and `postgresql://…`. The reason for a refusal never
    /// quotes the URL (it could hold a password).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let backend = if raw.starts_with("sqlite:") {
            Backend::Sqlite
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            url::Url::parse(raw).map_err(|e| format!("is not a valid PostgreSQL URL ({e})"))?;
            Backend::Postgres
        } else {
            return Err(
                "must start with sqlite: (the embedded default) or postgres:// (postgresql://)"
                    .to_owned(),
            );
        };
        Ok(Self {
            raw: raw.to_owned(),
            backend,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with its password: only for handing to the database driver.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The URL with any password replaced by `[redacted]`.
    fn redacted(&self) -> String {
        if self.backend == Backend::Sqlite {
            return self.raw.clone();
        }
        let Ok(mut url) = url::Url::parse(&self.raw) else {
            return "[unparsable URL]".to_owned();
        };
        if url.password().is_some() {
            // Only fails for URLs that cannot have user info, which a postgres:// URL can.
            let _ = url.set_password(Some("[redacted]"));
        }
        if url.query_pairs().any(|(k, _)| k == "password") {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "password" {
                        "[redacted]".to_owned()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        // `url` percent-encodes the brackets; decode them back so the marker reads plainly.
        url.as_str().replace("%5Bredacted%5D", "[redacted]")
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_chooses_the_backend() {
        let cases = [
            ("sqlite://data/taskr.db", Backend::Sqlite),
            ("sqlite::memory:", Backend::Sqlite),
            ("postgres://taskr@db:5432/taskr", Backend::Postgres),
            ("postgresql://taskr@db/taskr", Backend::Postgres),
        ];
        for (raw, backend) in cases {
            assert_eq!(DatabaseUrl::parse(raw).unwrap().backend(), backend, "{raw}");
        }
    }

    #[test]
    fn other_schemes_are_refused_without_quoting_the_url() {
        for raw in [
            "mysql://u:hunter2@x/db",
            "hunter2",
            "postgres://u:hunter2@[x/db",
        ] {
            let reason = DatabaseUrl::parse(raw).expect_err(raw);
            assert!(!reason.contains("hunter2"), "{raw}: {reason}");
        }
    }

    #[test]
    fn debug_and_display_never_show_the_password() {
        for raw in [
            "postgres://taskr:hunter2@db:5432/taskr",
            "postgresql://taskr@db/taskr?sslmode=require&password=hunter2",
        ] {
            let url = DatabaseUrl::parse(raw).unwrap();
            for shown in [format!("{url}"), format!("{url:?}")] {
                assert!(!shown.contains("hunter2"), "{shown}");
                assert!(shown.contains("[redacted]"), "{shown}");
                assert!(shown.contains("@db"), "{shown}");
            }
            assert_eq!(url.expose(), raw);
        }
        let plain = DatabaseUrl::parse("postgres://taskr@db/taskr").unwrap();
        assert_eq!(plain.to_string(), "postgres://taskr@db/taskr");
    }
}
