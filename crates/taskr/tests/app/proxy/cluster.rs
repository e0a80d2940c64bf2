//! The harness of the proxy tests: a real nginx running the repository's
//! `deploy/nginx/taskr.conf` (ports substituted) in front of two Taskr processes (the real
//! binary) on one fresh PostgreSQL database, with one in-process sandbox as Attio.
//!
//! These need PostgreSQL (`TASKR_TEST_BACKEND=postgres`) and an `nginx` binary; without either
//! they print why they are skipped, unless `TASKR_REQUIRE_NGINX=1` makes a missing nginx a
//! failure (CI).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use attio_sandbox::{Sandbox, SpawnedSandbox};
use reqwest::{Client, StatusCode};

use crate::database::TestDatabase;
use crate::helpers::{form_value, location, selected_option, wait_until, PASSWORD};

const CLIENT_ID: &str = "proxy-test";
const CLIENT_SECRET: &str = "proxy-secret";

/// Why a test cannot run here, printed; `None` when it can. A missing nginx fails the test
/// instead when `TASKR_REQUIRE_NGINX=1`.
pub fn skip_reason() -> Option<String> {
    if !crate::database::is_postgres() {
        return Some(
            "nginx in front of several instances needs PostgreSQL (TASKR_TEST_BACKEND=postgres)"
                .to_owned(),
        );
    }
    if nginx_binary().is_none() {
        assert!(
            std::env::var("TASKR_REQUIRE_NGINX").as_deref() != Ok("1"),
            "TASKR_REQUIRE_NGINX=1 but no nginx binary was found (PATH, /usr/sbin)"
        );
        return Some(
            "no nginx binary (install Debian's `nginx`, or set TASKR_REQUIRE_NGINX=1 to fail)"
                .to_owned(),
        );
    }
    None
}

pub fn skipped(test: &str) -> bool {
    match skip_reason() {
        Some(reason) => {
            eprintln!("skipped {test}: {reason}");
            true
        }
        None => false,
    }
}

fn nginx_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The repository's site file with the test's ports: the listen port and the two instances.
/// Each rewritten line must be there, so the test and the file cannot drift apart silently.
pub fn site_config(listen: u16, instances: [u16; 2]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx/taskr.conf");
    let site = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut replaced = site;
    for (from, to) in [
        ("    listen 80;", format!("    listen 127.0.0.1:{listen};")),
        (
            "    server 127.0.0.1:3050 ",
            format!("    server 127.0.0.1:{} ", instances[0]),
        ),
        (
            "    server 127.0.0.1:3052 ",
            format!("    server 127.0.0.1:{} ", instances[1]),
        ),
    ] {
        assert_eq!(
            replaced.matches(from).count(),
            1,
            "deploy/nginx/taskr.conf has exactly one {from:?}"
        );
        replaced = replaced.replace(from, &to);
    }
    replaced
}

/// nginx as the current user, in a directory of its own, in the foreground; stopped when
/// dropped.
pub struct Nginx {
    child: Child,
    pub base: String,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    pub async fn start(instances: [u16; 2]) -> Self {
        let binary = nginx_binary().expect("nginx");
        let dir = tempfile::tempdir().unwrap();
        // Worker processes may run as another user (nobody) when the master is root.
        set_mode(dir.path(), 0o755);
        let port = free_port();
        let prefix = dir.path().display().to_string();
        std::fs::write(dir.path().join("taskr.conf"), site_config(port, instances)).unwrap();
        // Debian's nginx keeps its temporary files under /var/lib/nginx, which an ordinary user
        // cannot write: every module's temporary directory moves into the prefix.
        let built = Command::new(&binary).arg("-V").output().unwrap();
        let built = String::from_utf8_lossy(&built.stderr).into_owned();
        let temp_paths: String = [
            ("client_body", None),
            ("proxy", None),
            ("fastcgi", Some("fastcgi")),
            ("uwsgi", Some("uwsgi")),
            ("scgi", Some("scgi")),
        ]
        .iter()
        .filter(|(_, module)| {
            module.is_none_or(|m| !built.contains(&format!("--without-http_{m}_module")))
        })
        .map(|(name, _)| format!("    {name}_temp_path {prefix}/{name}_temp;\n"))
        .collect();
        let conf = format!(
            "worker_processes 2;\nevents {{ worker_connections 1024; }}\nhttp {{\n\
             {temp_paths}    access_log {prefix}/access.log;\n    include {prefix}/taskr.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-g")
            .arg(format!(
                "daemon off; pid {prefix}/nginx.pid; error_log {prefix}/error.log warn;"
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Some(status) = nginx.child.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut pipe) = nginx.child.stderr.take() {
                    use std::io::Read;
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("nginx exited with {status}: {stderr}{}", nginx.error_log());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nginx did not listen: {}",
                nginx.error_log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        nginx
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// One Taskr process; SIGKILLed when dropped if still running.
pub struct Instance {
    pub child: Child,
    pub port: u16,
    _data_dir: tempfile::TempDir,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// nginx, two Taskr instances, one PostgreSQL database and one sandbox.
pub struct Cluster {
    pub sandbox: SpawnedSandbox,
    pub nginx: Nginx,
    pub instances: Vec<Instance>,
    pub database: TestDatabase,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn start(auth_rate_per_minute: u32) -> Self {
        let ports = [free_port(), free_port()];
        let nginx = Nginx::start(ports).await;
        let sandbox = Sandbox::new(attio_sandbox::Config {
            apps: vec![attio_sandbox::OAuthApp {
                name: "Taskr".into(),
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                redirect_uris: vec![nginx.url("/integrations/attio/callback")],
                scopes: taskr::app::ATTIO_SCOPES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
            }],
            retry_base: Duration::from_millis(25),
            target_rate_per_second: 200,
            ..Default::default()
        })
        .spawn()
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let database = TestDatabase::create(dir.path()).await;
        // Both start at once against the empty database: migrations must not race.
        let instances: Vec<Instance> = ports
            .iter()
            .map(|&port| {
                spawn_instance(
                    port,
                    &nginx.base,
                    &database,
                    &sandbox.base_url(),
                    auth_rate_per_minute,
                )
            })
            .collect();
        let probe = Client::new();
        for instance in &instances {
            let url = instance.url("/readyz");
            wait_until(&format!("{url} is ready"), Duration::from_secs(30), || {
                let request = probe.get(&url).send();
                async move { request.await.is_ok_and(|r| r.status() == StatusCode::OK) }
            })
            .await;
        }
        Self {
            sandbox,
            nginx,
            instances,
            database,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.nginx.url(path)
    }

    /// Signs up through nginx and links the sandbox's Attio workspace, as a browser would;
    /// returns the browser.
    pub async fn connected_user(&self, username: &str, from: IpAddr) -> Client {
        let client = browser_from(from);
        let response = self.sign_up(&client, username).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign up");
        let response = client
            .get(self.url("/integrations/attio/connect"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "connect");
        let consent = client
            .get(location(&response))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let member = selected_option(&consent).expect("a member on the consent page");
        let request_id = form_value(&consent, "request_id").expect("a consent request");
        let response = client
            .post(format!("{}/authorize", self.sandbox.base_url()))
            .form(&[
                ("request_id", request_id.as_str()),
                ("decision", "approve"),
                ("member_id", member.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let callback = location(&response);
        assert!(
            callback.starts_with(&self.url("/integrations/attio/callback")),
            "{callback}"
        );
        let response = client.get(&callback).send().await.unwrap();
        assert_eq!(location(&response), "/?notice=connected");
        client
    }

    pub async fn csrf(&self, client: &Client) -> String {
        let html = client
            .get(self.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        form_value(&html, "csrf_token").expect("a csrf token on /login")
    }

    pub async fn sign_up(&self, client: &Client, username: &str) -> reqwest::Response {
        self.post_account(client, "/signup", username, PASSWORD, None)
            .await
    }

    /// A sign-up or log-in form, optionally with an `X-Forwarded-For` the client made up.
    pub async fn post_account(
        &self,
        client: &Client,
        path: &str,
        username: &str,
        password: &str,
        forged_for: Option<&str>,
    ) -> reqwest::Response {
        let csrf = self.csrf(client).await;
        let mut request = client.post(self.url(path)).form(&[
            ("csrf_token", csrf.as_str()),
            ("username", username),
            ("password", password),
        ]);
        if let Some(forged) = forged_for {
            request = request.header("x-forwarded-for", forged);
        }
        request.send().await.unwrap()
    }
}

/// A browser (cookies, no redirects) whose connections come from `from`: any 127.x.y.z
/// address is this machine, so tests can be several clients to nginx.
pub fn browser_from(from: IpAddr) -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(from)
        .build()
        .expect("client")
}

fn spawn_instance(
    port: u16,
    public_url: &str,
    database: &TestDatabase,
    sandbox_url: &str,
    auth_rate_per_minute: u32,
) -> Instance {
    let data_dir = tempfile::tempdir().unwrap();
    let logs = if std::env::var_os("TEST_LOG").is_some() {
        Stdio::inherit
    } else {
        Stdio::null
    };
    let child = Command::new(env!("CARGO_BIN_EXE_taskr"))
        .env_remove("TASKR_CONNECTIONS")
        .env_remove("TASKR_OLD_ENCRYPTION_KEYS")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--public-url", public_url])
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(["--database-url", database.url().expose()])
        .args(["--encryption-key", &"5a".repeat(32)])
        .args(["--attio-client-id", CLIENT_ID])
        .args(["--attio-client-secret", CLIENT_SECRET])
        .args([
            "--attio-app-url",
            sandbox_url,
            "--attio-api-url",
            sandbox_url,
        ])
        .args(["--trusted-proxies", "127.0.0.1/32"])
        .args(["--auth-rate-per-minute", &auth_rate_per_minute.to_string()])
        // Short inbox leases: a killed instance's claimed rows are taken over within seconds.
        .env("TASKR_INBOX_LEASE_SECS", "3")
        .env(
            "RUST_LOG",
            if std::env::var_os("TEST_LOG").is_some() {
                "info"
            } else {
                "warn"
            },
        )
        .stdout(logs())
        .stderr(logs())
        .spawn()
        .expect("taskr starts");
    Instance {
        child,
        port,
        _data_dir: data_dir,
    }
}

pub fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}
