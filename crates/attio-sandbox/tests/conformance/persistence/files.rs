//! The data directory's file: never half-written (a killed process leaves the previous or the
//! next state, and every answered change is in it), private, and refused with a clear error when
//! it cannot be used, never silently replaced by a new seed.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use attio_sandbox::{Sandbox, STATE_FILE};
use reqwest::StatusCode;
use serde_json::json;

use super::{api_key, config, create_task, open, restart};

#[tokio::test]
async fn a_half_written_temporary_file_left_by_a_killed_save_does_not_break_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let t = open(dir.path()).await;
    let key = api_key(&t).await;
    let task = create_task(&t, &key, "Before the crash").await;
    t.spawned.shut_down().await;
    let torn = dir.path().join(format!("{STATE_FILE}.tmp"));
    std::fs::write(
        &torn,
        br#"{"format":"attio-sandbox-state","version":1,"workspa"#,
    )
    .expect("write");

    let t = open(dir.path()).await;
    let (status, body) = t.get(&format!("/v2/tasks/{task}"), &key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!torn.exists(), "the leftover is removed");
}

/// The sandbox binary on a free port with `--data-dir`; returns it and its base URL.
fn start_binary(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_attio-sandbox"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the sandbox binary runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the start-up line");
    let start = line.find("http://").expect("an address");
    let url = line[start..]
        .split_whitespace()
        .next()
        .expect("url")
        .to_owned();
    (child, url)
}

#[tokio::test]
async fn a_sandbox_killed_during_a_burst_of_writes_restarts_with_every_answered_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, url) = start_binary(dir.path());
    let http = reqwest::Client::new();
    let key: serde_json::Value = http
        .post(format!("{url}/_sandbox/api-keys"))
        .send()
        .await
        .expect("api-keys")
        .json()
        .await
        .expect("json");
    let key = key["token"].as_str().expect("token").to_owned();
    // Sixteen writers create tasks until the process is killed under them.
    let mut writers = Vec::new();
    for writer in 0..16 {
        let (http, url, key) = (http.clone(), url.clone(), key.clone());
        writers.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            for n in 0.. {
                let body = json!({"data": {"content": format!("w{writer} n{n}"),
                    "format": "plaintext", "deadline_at": null, "is_completed": false,
                    "linked_records": [], "assignees": []}});
                let sent = http
                    .post(format!("{url}/v2/tasks"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == StatusCode::OK => {
                        let created: serde_json::Value = match response.json().await {
                            Ok(created) => created,
                            Err(_) => break,
                        };
                        answered.push(created["data"]["id"]["task_id"].as_str().map(str::to_owned));
                    }
                    _ => break,
                }
            }
            answered
        }));
    }
    // Kill once a good number of changes went through (saves overlap the writes by then). Each
    // writer has at most one request in flight, made but perhaps not answered yet: 16 more than
    // the 100 wanted makes sure at least 100 were answered.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, body) = crate::read_json(
            http.get(format!("{url}/v2/tasks?limit=500"))
                .bearer_auth(&key)
                .send()
                .await
                .expect("tasks"),
        )
        .await;
        if body["data"]
            .as_array()
            .is_some_and(|d| d.len() >= 48 + 100 + 16)
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "writes go through");
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let mut answered = Vec::new();
    for writer in writers {
        answered.extend(writer.await.expect("writer").into_iter().flatten());
    }
    assert!(answered.len() >= 100, "{}", answered.len());

    let sandbox = Sandbox::open(config(), dir.path()).expect("the file is whole");
    let kept: Vec<String> = sandbox
        .task_ids_in(sandbox.workspace_id())
        .iter()
        .map(ToString::to_string)
        .collect();
    let lost: Vec<&String> = answered.iter().filter(|id| !kept.contains(id)).collect();
    assert!(lost.is_empty(), "answered but lost: {lost:?}");
}

#[tokio::test]
async fn a_file_that_cannot_be_used_stops_start_up_naming_it_and_is_left_as_it_was() {
    let dir = tempfile::tempdir().expect("temp dir");
    let t = open(dir.path()).await;
    t.spawned.shut_down().await;
    let file = dir.path().join(STATE_FILE);
    let good = std::fs::read_to_string(&file).expect("state");
    let mut unknown_field: serde_json::Value = serde_json::from_str(&good).expect("JSON");
    unknown_field["workspaces"][0]["tasks"][0]["colour"] = json!("red");
    let mut bad_time: serde_json::Value = serde_json::from_str(&good).expect("JSON");
    bad_time["workspaces"][1]["members"][0]["created_at"] = json!("yesterday");
    let mut no_workspaces: serde_json::Value = serde_json::from_str(&good).expect("JSON");
    no_workspaces["workspaces"] = json!([]);
    let cases: Vec<(&str, String, &str)> = vec![
        ("garbage", "not json at all".to_owned(), "unreadable JSON"),
        (
            "cut in half",
            good[..good.len() / 2].to_owned(),
            "unreadable JSON",
        ),
        ("empty", String::new(), "unreadable JSON"),
        (
            "another JSON file",
            r#"{"name": "package.json"}"#.to_owned(),
            "not a sandbox state",
        ),
        (
            "a newer version",
            good.replacen(r#""version":1"#, r#""version":2"#, 1),
            "written by a newer sandbox (state version 2; this one reads version 1)",
        ),
        (
            "an older version",
            good.replacen(r#""version":1"#, r#""version":0"#, 1),
            "state version 0 is not supported",
        ),
        (
            "an unknown field",
            unknown_field.to_string(),
            "workspaces[0].tasks[0].colour: unknown field `colour`",
        ),
        (
            "a bad timestamp",
            bad_time.to_string(),
            "workspaces[1].members[0].created_at",
        ),
        (
            "no workspace",
            no_workspaces.to_string(),
            "at least one workspace",
        ),
    ];
    for (case, contents, expected) in cases {
        std::fs::write(&file, &contents).expect("write");
        let error = Sandbox::open(config(), dir.path())
            .expect_err(case)
            .to_string();
        assert!(
            error.contains(&file.display().to_string()),
            "{case}: names the file: {error}"
        );
        assert!(error.contains(expected), "{case}: {error}");
        assert_eq!(
            std::fs::read_to_string(&file).expect("still there"),
            contents,
            "{case}: never replaced by a new seed"
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_directory_and_the_file_are_private_even_if_the_directory_was_not() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().expect("temp dir");
    let loose = root.path().join("loose");
    std::fs::create_dir(&loose).expect("mkdir");
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let fresh = root.path().join("a/b/fresh");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    for dir in [&loose, &fresh] {
        let t = open(dir).await;
        let key = api_key(&t).await;
        create_task(&t, &key, "Private").await;
        let t = restart(t, dir).await;
        t.spawned.shut_down().await;
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
        assert_eq!(mode(&dir.join(STATE_FILE)), 0o600, "{}", dir.display());
    }
}
