//! Start-up through the real binary: configuration files that hold secrets never echo them,
//! Taskr's files (the demo sandbox's state too) are private whatever the umask, and a missing
//! key or an unusable demo sandbox state is caught before serving.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::helpers::{TestApp, TestOptions};

fn taskr() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskr"));
    command
        .env_remove("ATTIO_CLIENT_ID")
        .env_remove("ATTIO_CLIENT_SECRET")
        .env_remove("TASKR_ENCRYPTION_KEY")
        .env_remove("TASKR_CONNECTIONS")
        .env("RUST_LOG", "warn")
        .args(["--listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0"]);
    command
}

/// Runs a Taskr that is expected to stop at start-up; kills it if it serves instead.
fn run_expecting_refusal(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("taskr runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("taskr started although it should have refused to");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_malformed_dotenv_line_stops_start_up_naming_the_line_but_not_its_text() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "TASKR_LISTEN=127.0.0.1:0\nATTIO_CLIENT_SECRET hunter2-in-env\nTASKR_AUTH_RATE_PER_MINUTE=0\n",
    )
    .unwrap();
    let mut command = taskr();
    command
        .current_dir(dir.path())
        .arg("--data-dir")
        .arg(dir.path().join("data"));
    let output = run_expecting_refusal(command);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains(".env:2:"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!dir.path().join("data").exists(), "nothing was started");
}

#[test]
fn a_toml_error_on_a_secret_line_names_file_line_and_column_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("connections.toml");
    std::fs::write(
        &file,
        "[[provider]]\nname = \"crm\"\nkind = \"oauth2\"\nuser = true\nclient_secret = \"sk_live_hunter2\nclient_id = \"x\"\n",
    )
    .unwrap();
    let mut command = taskr();
    command
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--connections")
        .arg(&file);
    let output = run_expecting_refusal(command);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("{}:5:", file.display())),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_database_files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // Start under umask 000, as a careless service manager might.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_taskr"))
        .args(["--listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&data)
        .env_remove("ATTIO_CLIENT_ID")
        .env_remove("ATTIO_CLIENT_SECRET")
        .env_remove("TASKR_ENCRYPTION_KEY")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let files = [
        "taskr.db",
        "taskr.db-wal",
        "taskr.db-shm",
        "encryption.key",
        "sandbox/state.json",
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !files.iter().all(|f| data.join(f).exists()) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "taskr stopped at start-up"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "taskr did not create its files"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let observed: Vec<(String, u32)> =
        [("data dir", &data), ("sandbox dir", &data.join("sandbox"))]
            .into_iter()
            .map(|(name, dir)| (name.to_owned(), mode(dir)))
            .chain(files.iter().map(|f| (f.to_string(), mode(&data.join(f)))))
            .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        observed,
        vec![
            ("data dir".to_owned(), 0o700),
            ("sandbox dir".to_owned(), 0o700),
            ("taskr.db".to_owned(), 0o600),
            ("taskr.db-wal".to_owned(), 0o600),
            ("taskr.db-shm".to_owned(), 0o600),
            ("encryption.key".to_owned(), 0o600),
            ("sandbox/state.json".to_owned(), 0o600),
        ]
    );
}

#[tokio::test]
async fn a_key_that_stored_values_depend_on_must_be_configured_or_taskr_refuses_to_start() {
    let key = "11".repeat(32);
    let app = TestApp::spawn_with(TestOptions {
        key: Some(key.clone()),
        ..Default::default()
    })
    .await;
    let client = app.user("keyholder").await;
    app.connect(&client).await;
    let key_id = taskr::crypto::KeyMaterial::parse(&key).unwrap().id();
    let data = app.data_dir.path().to_owned();

    // Demo mode (no key configured) with no encryption.key beside the database: no new key.
    let database_url = app.database.url().expose().to_owned();
    let mut demo = taskr();
    demo.arg("--data-dir")
        .arg(&data)
        .args(["--database-url", &database_url]);
    let output = run_expecting_refusal(demo);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains(&key_id), "{message}");
    assert!(message.contains("encryption.key is missing"), "{message}");
    assert!(
        !data.join("encryption.key").exists(),
        "no key that would orphan the data was generated"
    );

    // A configured key that is not the one: refused, naming the key id it needs.
    let mut wrong = taskr();
    wrong
        .arg("--data-dir")
        .arg(&data)
        .args(["--database-url", &database_url])
        .args(["--encryption-key", &"22".repeat(32)]);
    let output = run_expecting_refusal(wrong);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains(&key_id), "{message}");
    assert!(message.contains("TASKR_OLD_ENCRYPTION_KEYS"), "{message}");
}

#[test]
fn an_unusable_demo_sandbox_state_stops_start_up_naming_the_file_and_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("sandbox")).unwrap();
    let state = data.join("sandbox/state.json");
    std::fs::write(
        &state,
        "{\"format\": \"attio-sandbox-state\", \"version\": 99}",
    )
    .unwrap();
    let mut demo = taskr();
    demo.arg("--data-dir").arg(&data);
    let output = run_expecting_refusal(demo);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains(&state.display().to_string()), "{message}");
    assert!(message.contains("state version 99"), "{message}");
    assert!(message.contains("delete it"), "{message}");
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"format\": \"attio-sandbox-state\", \"version\": 99}",
        "left as it was"
    );
}
