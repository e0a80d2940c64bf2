//! Typed settings: command-line flags with environment equivalents (and a `.env` file, read by
//! `main`), validated once at start-up so that a bad value fails early and names the setting.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;

use clap::Parser;
use url::Url;

use crate::crypto::KeyMaterial;
pub use crate::redacted::Redacted;

#[derive(Debug, Parser)]
#[command(
    name = "taskr",
    version,
    about = "See your Attio workspace's tasks, kept current."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on.
    #[arg(long, env = "TASKR_LISTEN", default_value = "127.0.0.1:3050")]
    pub listen: SocketAddr,

    /// The URL people use to reach Taskr; the OAuth redirect URI is derived from it.
    #[arg(
        long,
        env = "TASKR_PUBLIC_URL",
        default_value = "http://localhost:3050"
    )]
    pub public_url: String,

    /// Directory for the SQLite database and, in demo mode, the generated encryption key and
    /// the embedded Attio sandbox's state (`sandbox/`).
    #[arg(long, env = "TASKR_DATA_DIR", default_value = "./taskr-data")]
    pub data_dir: PathBuf,

    /// Database location: `sqlite://path` (default `<data-dir>/taskr.db`) or
    /// `postgres://user:password@host:port/db`.
    // Kept redacted from the start: a PostgreSQL URL may hold a password, and `Cli` is `Debug`.
    #[arg(long, env = "TASKR_DATABASE_URL", hide_env_values = true,
          value_parser = |raw: &str| Ok::<_, std::convert::Infallible>(Redacted(raw.to_owned())))]
    pub database_url: Option<Redacted>,

    /// 32-byte key (base64 or 64 hex digits) that seals tokens in the database.
    #[arg(long, env = "TASKR_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,

    /// OAuth client id of your Attio app. With the secret, Taskr talks to the real Attio.
    #[arg(long, env = "ATTIO_CLIENT_ID")]
    pub attio_client_id: Option<String>,

    /// OAuth client secret of your Attio app.
    #[arg(long, env = "ATTIO_CLIENT_SECRET", hide_env_values = true)]
    pub attio_client_secret: Option<String>,

    /// Attio's app host (authorize, token and revoke endpoints).
    #[arg(long, env = "ATTIO_APP_URL", default_value = attio::DEFAULT_APP_URL)]
    pub attio_app_url: String,

    /// Attio's REST API host.
    #[arg(long, env = "ATTIO_API_URL", default_value = attio::DEFAULT_API_URL)]
    pub attio_api_url: String,

    /// Where the embedded Attio sandbox listens when no Attio credentials are configured.
    #[arg(long, env = "TASKR_SANDBOX_LISTEN", default_value = "127.0.0.1:3051")]
    pub sandbox_listen: SocketAddr,

    /// Older encryption keys, comma-separated: values sealed with them still open, and
    /// `taskr keys rotate` re-seals them under the current key.
    #[arg(long, env = "TASKR_OLD_ENCRYPTION_KEYS", hide_env_values = true)]
    pub old_encryption_keys: Option<String>,

    /// A TOML file declaring connection providers (see README, "Connections").
    #[arg(long, env = "TASKR_CONNECTIONS")]
    pub connections: Option<PathBuf>,

    /// Base URL of the mail-sequencing API behind the "sequencer" provider ("Add to sequence").
    #[arg(long, env = "TASKR_SEQUENCER_API_URL")]
    pub sequencer_api_url: Option<String>,

    /// Run the inbox worker in this process (`false` for web-only instances when a separate
    /// instance applies deliveries).
    #[arg(long, env = "TASKR_WORKER", default_value_t = true, action = clap::ArgAction::Set)]
    pub worker: bool,

    /// Seconds between reconciliations of each workspace's cache with Attio (and webhook checks).
    #[arg(long, env = "TASKR_RECONCILE_INTERVAL_SECS", default_value = "600")]
    pub reconcile_interval_secs: std::num::NonZeroU64,

    /// Seconds an instance's claim of a workspace's inbox (and of a backfill) lasts without
    /// renewal: how soon the other instances take over the work of one that died.
    #[arg(
        long,
        env = "TASKR_INBOX_LEASE_SECS",
        default_value = "30",
        hide = true
    )]
    pub inbox_lease_secs: std::num::NonZeroU64,

    /// Log-in and sign-up attempts allowed per client address per minute.
    #[arg(long, env = "TASKR_AUTH_RATE_PER_MINUTE", default_value = "10")]
    pub auth_rate_per_minute: NonZeroU32,

    /// Threads that hash and check passwords (Argon2id, 19 MiB each); default: one per core.
    #[arg(long, env = "TASKR_PASSWORD_HASH_WORKERS")]
    pub password_hash_workers: Option<std::num::NonZeroUsize>,

    /// Log-ins and sign-ups that may wait for a hashing thread; beyond this they get a 503.
    #[arg(long, env = "TASKR_PASSWORD_HASH_QUEUE", default_value = "64")]
    pub password_hash_queue: usize,
    /// Seconds a client has to send a request head, from connecting (or from the first byte of
    /// a later request on a kept-alive connection); slower clients are disconnected.
    #[arg(long, env = "TASKR_HEADER_READ_TIMEOUT_SECS", default_value = "10")]
    pub header_read_timeout_secs: String,

    /// Seconds a kept-alive connection may stay idle between requests. Never cuts a response in
    /// progress (such as the live-updates stream).
    #[arg(long, env = "TASKR_IDLE_TIMEOUT_SECS", default_value = "60")]
    pub idle_timeout_secs: String,

    /// Connections served at once; more get a 503 with Retry-After. Default: derived from the
    /// open-file limit (which Taskr raises to its hard limit at start-up).
    #[arg(long, env = "TASKR_MAX_CONNECTIONS")]
    pub max_connections: Option<String>,

    /// Reverse proxies (comma-separated CIDRs) whose `X-Forwarded-For` names the client for
    /// rate limits and logs; from any other peer the header is ignored.
    #[arg(long, env = "TASKR_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,

    /// Bearer token that lets a scraper read `/metrics` from another host (loopback needs none).
    #[arg(long, env = "TASKR_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Seconds a shutdown (SIGTERM, SIGINT) may take: requests in flight finish, live streams
    /// end, the worker finishes its batch; what is left then is cut.
    #[arg(long, env = "TASKR_SHUTDOWN_TIMEOUT_SECS", default_value = "10")]
    pub shutdown_timeout_secs: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Manage the keys that seal tokens and secrets at rest.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Re-seal every stored secret under the current TASKR_ENCRYPTION_KEY; values sealed with
    /// keys in TASKR_OLD_ENCRYPTION_KEYS are read. Safe to interrupt and run again.
    Rotate,
}

/// Which Attio Taskr talks to.
#[derive(Debug, Clone)]
pub enum AttioMode {
    /// A real Attio (or any compatible server) with a registered OAuth app.
    Remote {
        app_url: Url,
        api_url: Url,
        client_id: String,
        client_secret: Redacted,
    },
    /// No credentials: start the embedded sandbox on this address.
    EmbeddedSandbox { listen: SocketAddr },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub public_url: Url,
    pub data_dir: PathBuf,
    pub database_url: crate::store::DatabaseUrl,
    pub key: KeySource,
    pub attio: AttioMode,
    pub auth_rate_per_minute: NonZeroU32,
    pub reconcile_interval: std::time::Duration,
    pub run_worker: bool,
    /// How long an inbox claim or a backfill lease lasts without renewal (the worker renews
    /// it while a batch takes long); a dead instance's work is taken over after this.
    pub inbox_lease: std::time::Duration,
    pub old_keys: Vec<KeyMaterial>,
    pub providers: Vec<crate::connections::Provider>,
    pub sequencer_api_url: Option<Url>,
    pub password_hashing: PasswordHashing,
    /// How failed log-ins slow further attempts at the same account.
    pub login_throttle: crate::accounts::ThrottlePolicy,
    /// How Taskr (and its embedded sandbox) serve connections: timeouts, the connection cap and
    /// the shutdown deadline (`drain_timeout`).
    pub server_limits: serve::Limits,
    pub trusted_proxies: crate::proxies::TrustedProxies,
    /// Lets `/metrics` be read from other hosts with `Authorization: Bearer <token>`.
    pub metrics_token: Option<Redacted>,
}

/// How much password hashing may run at once, and how much may wait.
#[derive(Debug, Clone, Copy)]
pub struct PasswordHashing {
    pub workers: usize,
    pub queue: usize,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: 64,
        }
    }
}

/// Where the sealing key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    Given(KeyMaterial),
    /// Demo mode only: read or create `<data-dir>/encryption.key`.
    DataDirFile,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {reason}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub reason: String,
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        reason: reason.into(),
    }
}

fn parse_base_url(setting: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim()).map_err(|e| invalid(setting, format!("{raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(setting, "must be an http:// or https:// URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(setting, "must not have a query or fragment"));
    }
    if url.host_str().is_none() {
        return Err(invalid(setting, "must name a host"));
    }
    Ok(url)
}

/// A whole number in `min..=max`, naming the setting when it is not.
fn parse_bounded(setting: &'static str, raw: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            invalid(
                setting,
                format!("{raw:?} is not a whole number from {min} to {max}"),
            )
        })
}

fn server_limits(cli: &Cli) -> Result<serve::Limits, ConfigError> {
    let secs = |setting, raw: &str, max| {
        parse_bounded(setting, raw, 1, max).map(std::time::Duration::from_secs)
    };
    let max_connections = match non_empty(cli.max_connections.clone()) {
        Some(raw) => {
            let n = parse_bounded(
                "TASKR_MAX_CONNECTIONS (--max-connections)",
                &raw,
                1,
                1_000_000,
            )?;
            std::num::NonZeroUsize::new(usize::try_from(n).unwrap_or(usize::MAX))
        }
        None => None,
    };
    Ok(serve::Limits {
        header_read_timeout: secs(
            "TASKR_HEADER_READ_TIMEOUT_SECS (--header-read-timeout-secs)",
            &cli.header_read_timeout_secs,
            3600,
        )?,
        idle_timeout: secs(
            "TASKR_IDLE_TIMEOUT_SECS (--idle-timeout-secs)",
            &cli.idle_timeout_secs,
            86_400,
        )?,
        max_connections,
        drain_timeout: secs(
            "TASKR_SHUTDOWN_TIMEOUT_SECS (--shutdown-timeout-secs)",
            &cli.shutdown_timeout_secs,
            3600,
        )?,
    })
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl Settings {
    pub fn from_cli(cli: Cli) -> Result<Self, ConfigError> {
        let server_limits = server_limits(&cli)?;
        let public_url = parse_base_url("TASKR_PUBLIC_URL (--public-url)", &cli.public_url)?;
        let attio = match (
            non_empty(cli.attio_client_id),
            non_empty(cli.attio_client_secret),
        ) {
            (Some(client_id), Some(client_secret)) => AttioMode::Remote {
                app_url: parse_base_url("ATTIO_APP_URL", &cli.attio_app_url)?,
                api_url: parse_base_url("ATTIO_API_URL", &cli.attio_api_url)?,
                client_id: client_id.trim().to_owned(),
                client_secret: Redacted(client_secret.trim().to_owned()),
            },
            (Some(_), None) => {
                return Err(invalid(
                    "ATTIO_CLIENT_SECRET",
                    "is required when ATTIO_CLIENT_ID is set",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "ATTIO_CLIENT_ID",
                    "is required when ATTIO_CLIENT_SECRET is set",
                ))
            }
            (None, None) => AttioMode::EmbeddedSandbox {
                listen: cli.sandbox_listen,
            },
        };
        let key = match non_empty(cli.encryption_key) {
            Some(raw) => KeySource::Given(
                KeyMaterial::parse(&raw)
                    .map_err(|reason| invalid("TASKR_ENCRYPTION_KEY", reason))?,
            ),
            None if matches!(attio, AttioMode::Remote { .. }) => {
                return Err(invalid(
                    "TASKR_ENCRYPTION_KEY",
                    "is required when real Attio credentials are configured \
                     (generate one with `openssl rand -base64 32`)",
                ))
            }
            None => KeySource::DataDirFile,
        };
        let database_url = match non_empty(cli.database_url.map(|url| url.0)) {
            Some(url) => crate::store::DatabaseUrl::parse(&url)
                .map_err(|reason| invalid("TASKR_DATABASE_URL (--database-url)", reason))?,
            None => crate::store::DatabaseUrl::parse(&format!(
                "sqlite://{}",
                cli.data_dir.join("taskr.db").display()
            ))
            .map_err(|reason| invalid("TASKR_DATA_DIR (--data-dir)", reason))?,
        };
        let old_keys = cli
            .old_encryption_keys
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(KeyMaterial::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| invalid("TASKR_OLD_ENCRYPTION_KEYS", reason))?;
        let providers = match &cli.connections {
            Some(path) => crate::connections::providers::load(path)
                .map_err(|reason| invalid("TASKR_CONNECTIONS (--connections)", reason))?,
            None => Vec::new(),
        };
        let sequencer_api_url = non_empty(cli.sequencer_api_url)
            .map(|raw| parse_base_url("TASKR_SEQUENCER_API_URL", &raw))
            .transpose()?;
        Ok(Self {
            listen: cli.listen,
            public_url,
            data_dir: cli.data_dir,
            database_url,
            key,
            attio,
            auth_rate_per_minute: cli.auth_rate_per_minute,
            reconcile_interval: std::time::Duration::from_secs(cli.reconcile_interval_secs.get()),
            run_worker: cli.worker,
            inbox_lease: std::time::Duration::from_secs(cli.inbox_lease_secs.get()),
            old_keys,
            providers,
            sequencer_api_url,
            password_hashing: PasswordHashing {
                workers: cli
                    .password_hash_workers
                    .map_or_else(|| PasswordHashing::default().workers, |n| n.get()),
                queue: cli.password_hash_queue,
            },
            login_throttle: Default::default(),
            server_limits,
            trusted_proxies: crate::proxies::TrustedProxies::parse(
                cli.trusted_proxies.as_deref().unwrap_or_default(),
            )
            .map_err(|reason| invalid("TASKR_TRUSTED_PROXIES (--trusted-proxies)", reason))?,
            metrics_token: non_empty(cli.metrics_token).map(|t| Redacted(t.trim().to_owned())),
        })
    }

    /// `<public-url>/integrations/attio/callback`, the redirect URI registered at Attio.
    pub fn attio_redirect_uri(&self) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}/integrations/attio/callback")
    }

    /// Where Attio delivers webhooks.
    pub fn webhook_url(&self) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}/webhooks/attio")
    }

    /// Whether the Attio in use can reach the public URL: a real Attio needs a public https
    /// address; a sandbox on this machine can reach a loopback one. `Err` says why not.
    pub fn webhook_reachability(&self) -> Result<(), String> {
        let public_local = is_local_host(&self.public_url);
        let attio_local = match &self.attio {
            AttioMode::EmbeddedSandbox { .. } => true,
            AttioMode::Remote { api_url, .. } => is_local_host(api_url),
        };
        if attio_local && public_local {
            return Ok(());
        }
        if public_local {
            return Err(format!(
                "Attio cannot reach {} (a loopback or private address), so live updates are off; \
                 Taskr reconciles with Attio every {} seconds instead. Set TASKR_PUBLIC_URL to a \
                 public https URL to turn them on.",
                self.webhook_url(),
                self.reconcile_interval.as_secs()
            ));
        }
        if self.public_url.scheme() != "https" && !attio_local {
            return Err(format!(
                "Attio only delivers webhooks to https URLs, and {} is not one; live updates are off \
                 and Taskr reconciles every {} seconds instead.",
                self.webhook_url(),
                self.reconcile_interval.as_secs()
            ));
        }
        Ok(())
    }

    /// Cookies get `Secure` when people reach Taskr over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

/// Loopback, private, link-local and `localhost` hosts: nothing outside this network reaches them.
fn is_local_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
        }
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00
        }
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local")
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Settings, String> {
        let mut argv = vec!["taskr"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        Settings::from_cli(cli).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_give_demo_mode_with_the_tutorial_redirect_uri() {
        let settings = parse(&[]).unwrap();
        assert!(matches!(settings.attio, AttioMode::EmbeddedSandbox { .. }));
        assert_eq!(
            settings.attio_redirect_uri(),
            "http://localhost:3050/integrations/attio/callback"
        );
        assert!(!settings.secure_cookies());
        assert_eq!(settings.server_limits, serve::Limits::default());
    }

    #[test]
    fn server_limits_come_from_their_settings() {
        let settings = parse(&[
            "--header-read-timeout-secs",
            "3",
            "--idle-timeout-secs",
            "30",
            "--max-connections",
            "500",
            "--shutdown-timeout-secs",
            "4",
        ])
        .unwrap();
        let limits = settings.server_limits;
        assert_eq!(
            limits.header_read_timeout,
            std::time::Duration::from_secs(3)
        );
        assert_eq!(limits.idle_timeout, std::time::Duration::from_secs(30));
        assert_eq!(limits.max_connections.map(|n| n.get()), Some(500));
        assert_eq!(limits.drain_timeout, std::time::Duration::from_secs(4));
    }

    #[test]
    fn bad_settings_fail_naming_the_setting() {
        let cases: &[(&[&str], &str)] = &[
            (&["--public-url", "ftp://x"], "TASKR_PUBLIC_URL"),
            (&["--public-url", "not a url"], "TASKR_PUBLIC_URL"),
            (&["--attio-client-id", "abc"], "ATTIO_CLIENT_SECRET"),
            (&["--attio-client-secret", "abc"], "ATTIO_CLIENT_ID"),
            (
                &["--attio-client-id", "a", "--attio-client-secret", "b"],
                "TASKR_ENCRYPTION_KEY",
            ),
            (&["--encryption-key", "c2hvcnQ="], "TASKR_ENCRYPTION_KEY"),
            (&["--database-url", "mysql://x"], "TASKR_DATABASE_URL"),
            (&["--listen", "nowhere"], "--listen"),
            (
                &["--header-read-timeout-secs", "0"],
                "TASKR_HEADER_READ_TIMEOUT_SECS",
            ),
            (&["--idle-timeout-secs", "soon"], "TASKR_IDLE_TIMEOUT_SECS"),
            (&["--idle-timeout-secs=-5"], "TASKR_IDLE_TIMEOUT_SECS"),
            (&["--max-connections", "0"], "TASKR_MAX_CONNECTIONS"),
            (&["--max-connections", "lots"], "TASKR_MAX_CONNECTIONS"),
            (
                &["--trusted-proxies", "10.0.0.0/8,proxy"],
                "TASKR_TRUSTED_PROXIES",
            ),
            (
                &["--shutdown-timeout-secs", "0"],
                "TASKR_SHUTDOWN_TIMEOUT_SECS",
            ),
        ];
        for (args, expected) in cases {
            let error = parse(args).expect_err(&format!("{args:?} should fail"));
            assert!(
                error.contains(expected),
                "{args:?}: error {error:?} does not name {expected}"
            );
        }
    }

    #[test]
    fn a_postgres_database_url_is_accepted_and_never_shown_with_its_password() {
        for scheme in ["postgres", "postgresql"] {
            let raw = format!("{scheme}://taskr:hunter2@db.internal:5432/taskr");
            let mut argv = vec!["taskr", "--database-url", &raw];
            let cli = Cli::try_parse_from(argv.drain(..)).unwrap();
            assert!(!format!("{cli:?}").contains("hunter2"), "{cli:?}");
            let settings = Settings::from_cli(cli).unwrap();
            assert_eq!(
                settings.database_url.backend(),
                crate::store::Backend::Postgres
            );
            assert_eq!(settings.database_url.expose(), raw);
            let shown = format!("{settings:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("db.internal"), "{shown}");
        }
        let error = parse(&["--database-url", "mysql://taskr:hunter2@db/taskr"]).unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn webhooks_are_only_registered_where_attio_can_deliver_them() {
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let real = |public: &str| {
            parse(&[
                "--attio-client-id",
                "id",
                "--attio-client-secret",
                "s",
                "--encryption-key",
                key,
                "--public-url",
                public,
            ])
            .unwrap()
            .webhook_reachability()
        };
        assert!(real("https://taskr.example.com").is_ok());
        assert!(real("http://localhost:3050")
            .unwrap_err()
            .contains("cannot reach"));
        assert!(real("https://192.168.1.20")
            .unwrap_err()
            .contains("cannot reach"));
        assert!(real("http://taskr.example.com")
            .unwrap_err()
            .contains("https"));
        // The embedded sandbox runs beside Taskr and reaches loopback.
        assert!(parse(&[]).unwrap().webhook_reachability().is_ok());
        let local_attio = parse(&[
            "--attio-client-id",
            "id",
            "--attio-client-secret",
            "s",
            "--encryption-key",
            key,
            "--attio-api-url",
            "http://127.0.0.1:3051",
            "--public-url",
            "http://127.0.0.1:3050",
        ])
        .unwrap();
        assert!(local_attio.webhook_reachability().is_ok());
    }

    #[test]
    fn real_attio_mode_needs_and_accepts_a_key() {
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let settings = parse(&[
            "--attio-client-id",
            "id",
            "--attio-client-secret",
            "topsecret",
            "--encryption-key",
            key,
            "--public-url",
            "https://taskr.example.com/",
            "--metrics-token",
            "scrapesecret",
        ])
        .unwrap();
        assert!(matches!(settings.attio, AttioMode::Remote { .. }));
        assert!(settings.secure_cookies());
        assert_eq!(
            settings.attio_redirect_uri(),
            "https://taskr.example.com/integrations/attio/callback"
        );
        assert!(!format!("{settings:?}").contains("topsecret"));
        assert!(!format!("{settings:?}").contains("scrapesecret"));
    }
}
