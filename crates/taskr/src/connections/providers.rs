//! Connection providers, declared in a TOML file (`--connections` / `TASKR_CONNECTIONS`) with
//! secrets from the environment, and validated at start-up so that a mistake names its field.
//!
//! ```toml
//! [[provider]]
//! name = "sequencer"              # letters, digits, - and _; used in URLs and by server code
//! display_name = "Sequencer"
//! kind = "oauth2"                 # or "secret"
//! user = true                     # user connections allowed
//! workspace = false               # workspace connections allowed (admins only)
//! authorize_url = "https://auth.example.com/authorize"
//! token_url = "https://auth.example.com/token"
//! client_id = "taskr"
//! client_secret_env = "SEQUENCER_CLIENT_SECRET"
//! scopes = ["sequences:read", "enrollments:write"]
//! pkce = true                     # the default
//! revocation_url = "https://auth.example.com/revoke"
//! refresh_margin_secs = 300       # refresh this long before expiry (the default)
//! [provider.extra_authorize_params]
//! prompt = "consent"
//!
//! [[provider]]
//! name = "mailer"
//! kind = "secret"
//! user = true
//! pattern = "^key-[a-z0-9]{16,}$"
//! help = "Find your API key under Settings → API."
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::redacted::Redacted;
use crate::store::ProviderName;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvidersFile {
    #[serde(default, rename = "provider")]
    providers: Vec<RawProvider>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    name: String,
    display_name: Option<String>,
    kind: String,
    #[serde(default)]
    user: bool,
    #[serde(default)]
    workspace: bool,
    pattern: Option<String>,
    help: Option<String>,
    authorize_url: Option<String>,
    token_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_env: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    pkce: Option<bool>,
    #[serde(default)]
    extra_authorize_params: BTreeMap<String, String>,
    revocation_url: Option<String>,
    refresh_margin_secs: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct OAuth2Config {
    pub authorize_url: Url,
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: Redacted,
    pub scopes: Vec<String>,
    pub pkce: bool,
    pub extra_authorize_params: BTreeMap<String, String>,
    pub revocation_url: Option<Url>,
    pub refresh_margin: Duration,
}

#[derive(Debug, Clone)]
pub enum ProviderKind {
    Secret {
        pattern: Option<regex::Regex>,
        help: Option<String>,
    },
    OAuth2(Box<OAuth2Config>),
}

#[derive(Debug, Clone)]
pub struct Provider {
    pub name: ProviderName,
    pub display_name: String,
    pub allow_user: bool,
    pub allow_workspace: bool,
    pub kind: ProviderKind,
}

impl Provider {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ProviderKind::Secret { .. } => "secret",
            ProviderKind::OAuth2(_) => "oauth2",
        }
    }

    pub fn oauth2(&self) -> Option<&OAuth2Config> {
        match &self.kind {
            ProviderKind::OAuth2(config) => Some(config),
            ProviderKind::Secret { .. } => None,
        }
    }
}

/// `<public-url>/connections/<provider>/callback`: a distinct callback per provider, to register
/// at the provider.
pub fn redirect_uri(public_url: &Url, provider: &ProviderName) -> String {
    format!(
        "{}/connections/{provider}/callback",
        public_url.as_str().trim_end_matches('/')
    )
}

fn url_field(provider: &str, field: &str, value: Option<&str>) -> Result<Url, String> {
    let raw = value
        .ok_or_else(|| format!("provider {provider:?}: {field} is required for kind \"oauth2\""))?;
    let url = Url::parse(raw).map_err(|e| format!("provider {provider:?}: {field}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "provider {provider:?}: {field}: must be an http(s) URL"
        ));
    }
    Ok(url)
}

/// Whether `url` names this machine: `localhost`, a loopback address, or the unspecified address
/// a listener bound to all interfaces reports (the embedded sandbox's URL when
/// `TASKR_SANDBOX_LISTEN` is `0.0.0.0:…`).
pub fn is_this_machine(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        None => false,
    }
}

/// RFC 7009 requires https for revocation; plain http is only for a provider on this machine
/// (a local test server), as the OAuth client allows (see `oauth::revoke`).
fn revocation_field(provider: &str, value: &str) -> Result<Url, String> {
    let url = url_field(provider, "revocation_url", Some(value))?;
    if url.scheme() != "https" && !is_this_machine(&url) {
        return Err(format!(
            "provider {provider:?}: revocation_url: must be an https URL (RFC 7009); plain http \
             is only accepted for localhost"
        ));
    }
    Ok(url)
}

fn validate(raw: RawProvider, env: &dyn Fn(&str) -> Option<String>) -> Result<Provider, String> {
    // `name` stays the text, for the messages below; `provider_name` is what it names.
    let name = raw.name.trim().to_owned();
    let Ok(provider_name) = ProviderName::parse(&name) else {
        return Err(format!(
            "provider {name:?}: name must be 1 to 40 lowercase letters, digits, '-' or '_'"
        ));
    };
    if !raw.user && !raw.workspace {
        return Err(format!(
            "provider {name:?}: set user = true and/or workspace = true"
        ));
    }
    let kind = match raw.kind.as_str() {
        "secret" => {
            for (field, present) in [
                ("authorize_url", raw.authorize_url.is_some()),
                ("token_url", raw.token_url.is_some()),
                ("client_id", raw.client_id.is_some()),
            ] {
                if present {
                    return Err(format!(
                        "provider {name:?}: {field} is only for kind \"oauth2\""
                    ));
                }
            }
            let pattern = raw
                .pattern
                .as_deref()
                .map(|p| regex::Regex::new(&format!("^(?:{p})$")))
                .transpose()
                .map_err(|e| format!("provider {name:?}: pattern: {e}"))?;
            ProviderKind::Secret {
                pattern,
                help: raw.help,
            }
        }
        "oauth2" => {
            let client_secret = match (&raw.client_secret, &raw.client_secret_env) {
                (Some(secret), None) => secret.clone(),
                (None, Some(var)) => env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
                    format!("provider {name:?}: client_secret_env: environment variable {var} is not set")
                })?,
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "provider {name:?}: give client_secret or client_secret_env, not both"
                    ))
                }
                (None, None) => {
                    return Err(format!(
                        "provider {name:?}: client_secret_env (or client_secret) is required"
                    ))
                }
            };
            let client_id = raw
                .client_id
                .filter(|c| !c.trim().is_empty())
                .ok_or_else(|| {
                    format!("provider {name:?}: client_id is required for kind \"oauth2\"")
                })?;
            for key in raw.extra_authorize_params.keys() {
                if matches!(
                    key.as_str(),
                    "client_id"
                        | "redirect_uri"
                        | "state"
                        | "response_type"
                        | "code_challenge"
                        | "code_challenge_method"
                        | "scope"
                ) {
                    return Err(format!(
                        "provider {name:?}: extra_authorize_params: {key} is set by Taskr"
                    ));
                }
            }
            ProviderKind::OAuth2(Box::new(OAuth2Config {
                authorize_url: url_field(&name, "authorize_url", raw.authorize_url.as_deref())?,
                token_url: url_field(&name, "token_url", raw.token_url.as_deref())?,
                revocation_url: raw
                    .revocation_url
                    .as_deref()
                    .map(|u| revocation_field(&name, u))
                    .transpose()?,
                client_id,
                client_secret: Redacted(client_secret),
                scopes: raw.scopes,
                pkce: raw.pkce.unwrap_or(true),
                extra_authorize_params: raw.extra_authorize_params,
                refresh_margin: Duration::from_secs(raw.refresh_margin_secs.unwrap_or(300)),
            }))
        }
        other => {
            return Err(format!(
                "provider {name:?}: kind must be \"secret\" or \"oauth2\", not {other:?}"
            ))
        }
    };
    Ok(Provider {
        display_name: raw
            .display_name
            .filter(|d| !d.trim().is_empty())
            .unwrap_or(name),
        name: provider_name,
        allow_user: raw.user,
        allow_workspace: raw.workspace,
        kind,
    })
}

/// Parses a providers file's text; `env` reads environment variables (injected for tests).
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Provider>, String> {
    parse_named("the connections file", text, env)
}

/// [`parse`], naming the file in errors. A TOML error gives file, line and column but never
/// the line's text, which may be a `client_secret`.
pub fn parse_named(
    origin: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Provider>, String> {
    let file: ProvidersFile =
        toml::from_str(text).map_err(|e| crate::config_text::toml_error(origin, text, &e))?;
    let mut providers = Vec::new();
    for raw in file.providers {
        let provider = validate(raw, env)?;
        if providers.iter().any(|p: &Provider| p.name == provider.name) {
            return Err(format!("provider {:?} is declared twice", provider.name));
        }
        providers.push(provider);
    }
    Ok(providers)
}

pub fn load(path: &Path) -> Result<Vec<Provider>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_named(&path.display().to_string(), &text, &|var| {
        std::env::var(var).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [[provider]]
        name = "sequencer"
        display_name = "Sequencer"
        kind = "oauth2"
        user = true
        authorize_url = "https://auth.example.com/authorize"
        token_url = "https://auth.example.com/token"
        client_id = "taskr"
        client_secret_env = "SEQ_SECRET"
        scopes = ["a", "b"]
        revocation_url = "https://auth.example.com/revoke"
        [provider.extra_authorize_params]
        prompt = "consent"

        [[provider]]
        name = "mailer"
        kind = "secret"
        workspace = true
        pattern = "key-[a-z0-9]{4}"
        help = "Settings → API"
    "#;

    fn env(var: &str) -> Option<String> {
        (var == "SEQ_SECRET").then(|| "s3cret".to_owned())
    }

    #[test]
    fn a_valid_file_declares_both_kinds() {
        let providers = parse(GOOD, &env).unwrap();
        assert_eq!(providers.len(), 2);
        let seq = providers[0].oauth2().unwrap();
        assert!(seq.pkce, "PKCE is on by default");
        assert_eq!(seq.client_secret.0, "s3cret");
        assert_eq!(seq.refresh_margin, Duration::from_secs(300));
        assert_eq!(seq.extra_authorize_params["prompt"], "consent");
        assert!(!format!("{:?}", providers[0]).contains("s3cret"));
        let ProviderKind::Secret { pattern, .. } = &providers[1].kind else {
            panic!("secret kind")
        };
        let pattern = pattern.as_ref().unwrap();
        assert!(pattern.is_match("key-ab12"));
        assert!(!pattern.is_match("xkey-ab12"), "the pattern is anchored");
        assert_eq!(providers[1].display_name, "mailer");
    }

    #[test]
    fn invalid_files_fail_naming_the_field() {
        let base = |extra: &str| format!("[[provider]]\nname = \"p\"\nuser = true\n{extra}");
        let cases = [
            (base("kind = \"ldap\""), "kind must be"),
            (base("kind = \"oauth2\"\ntoken_url = \"https://t\"\nclient_id = \"c\"\nclient_secret = \"s\""), "authorize_url is required"),
            (base("kind = \"oauth2\"\nauthorize_url = \"https://a\"\ntoken_url = \"ftp://t\"\nclient_id = \"c\"\nclient_secret = \"s\""), "token_url: must be an http(s) URL"),
            (base("kind = \"oauth2\"\nauthorize_url = \"https://a\"\ntoken_url = \"https://t\"\nclient_id = \"c\"\nclient_secret_env = \"MISSING\""), "MISSING is not set"),
            (base("kind = \"oauth2\"\nauthorize_url = \"https://a\"\ntoken_url = \"https://t\"\nclient_secret = \"s\""), "client_id is required"),
            (base("kind = \"oauth2\"\nauthorize_url = \"https://a\"\ntoken_url = \"https://t\"\nclient_id = \"c\"\nclient_secret = \"s\"\n[provider.extra_authorize_params]\nstate = \"x\""), "state is set by Taskr"),
            (base("kind = \"oauth2\"\nauthorize_url = \"https://a\"\ntoken_url = \"https://t\"\nclient_id = \"c\"\nclient_secret = \"s\"\nrevocation_url = \"http://auth.example.com/revoke\""), "revocation_url: must be an https URL"),
            (base("kind = \"secret\"\npattern = \"(\""), "pattern"),
            (base("kind = \"secret\"\ntoken_url = \"https://t\""), "only for kind"),
            (base("kind = \"secret\"\ncolour = \"red\""), "unknown field"),
            ("[[provider]]\nname = \"Bad Name\"\nkind = \"secret\"\nuser = true".to_owned(), "name must be"),
            ("[[provider]]\nname = \"p\"\nkind = \"secret\"".to_owned(), "user = true and/or workspace"),
            (format!("{}\n{}", base("kind = \"secret\""), base("kind = \"secret\"")), "declared twice"),
            (base("kind = \"secret\"\npkce = \"maybe\""), "connections file:5:"),
        ];
        for (text, expected) in cases {
            let error = parse(&text, &env).expect_err(&text);
            assert!(error.contains(expected), "{text}\n→ {error}");
        }
    }

    #[test]
    fn a_plain_http_revocation_url_is_accepted_only_on_this_machine() {
        let with = |url: &str| {
            format!(
                "[[provider]]\nname = \"p\"\nkind = \"oauth2\"\nuser = true\n\
                 authorize_url = \"https://a\"\ntoken_url = \"https://t\"\nclient_id = \"c\"\n\
                 client_secret = \"s\"\nrevocation_url = \"{url}\""
            )
        };
        for url in [
            "https://auth.example.com/revoke",
            "http://localhost:8080/revoke",
            "http://127.0.0.1:9/revoke",
            "http://[::1]:9/revoke",
        ] {
            assert!(parse(&with(url), &env).is_ok(), "{url}");
        }
        for url in ["http://auth.example.com/revoke", "http://10.0.0.7/revoke"] {
            let error = parse(&with(url), &env).expect_err(url);
            assert!(error.contains("must be an https URL"), "{url}: {error}");
        }
    }

    #[test]
    fn a_syntax_error_on_a_secret_line_names_the_place_not_the_secret() {
        let text = "[[provider]]\nname = \"p\"\nkind = \"oauth2\"\nuser = true\n\
                    client_secret = \"sk_live_hunter2\nclient_id = \"c\"\n";
        let error = parse_named("/etc/taskr/connections.toml", text, &env).unwrap_err();
        assert!(
            error.starts_with("/etc/taskr/connections.toml:5:"),
            "{error}"
        );
        assert!(!error.contains("hunter2"), "{error}");
    }
}
