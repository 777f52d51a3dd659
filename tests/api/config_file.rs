#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `--config FILE`: every setting of the README's table from a TOML file, below flags and
//! the environment; unknown keys and bad values refused with the key named; `config check`.
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{fresh_database_url, http};

/// The real binary with a clean environment of Tessera variables but those given.
async fn tessera(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("TESSERA_")) {
        command.env_remove(name);
    }
    let output = command
        .args(args)
        .env("TESSERA_LOG", "error")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test]
async fn config_check_prints_the_effective_settings_with_their_sources_and_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "tessera.toml",
        r#"
issuer = "https://login.example.com"
listen = "127.0.0.1:9999"
code_ttl = 30
database_url = "postgres://tessera:hunter2-in-the-file@db.example.com/tessera"
resources = ["https://api.example.com", "https://b.example.com"]
master_key = "c2VjcmV0LW1hc3Rlci1rZXktb2YtMzItYnl0ZXMhISE="
"#,
    );
    let (ok, out, err) = tessera(
        &["config", "check", &file, "--json"],
        &[("TESSERA_CODE_TTL", "45")],
    )
    .await;
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let setting = |key: &str| report["settings"][key].clone();
    assert_eq!(report["valid"], true);
    assert_eq!(setting("issuer")["value"], "https://login.example.com");
    assert_eq!(setting("issuer")["source"], "file");
    assert_eq!(setting("listen")["value"], "127.0.0.1:9999");
    // The environment wins over the file.
    assert_eq!(setting("code_ttl")["value"], "45");
    assert_eq!(setting("code_ttl")["source"], "environment");
    assert_eq!(setting("access_token_ttl")["source"], "default");
    assert_eq!(
        setting("resources")["value"],
        "https://api.example.com,https://b.example.com"
    );
    assert_eq!(setting("master_key")["value"], "********");
    for secret in [
        "hunter2-in-the-file",
        "c2VjcmV0LW1hc3Rlci1rZXktb2YtMzItYnl0ZXMhISE=",
    ] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret} shown"
        );
    }
    // The text form says the file is valid and how to run with it.
    let (ok, text, _) = tessera(&["--config", &file, "config", "check"], &[]).await;
    assert!(ok);
    assert!(text.contains("is valid"), "{text}");
    assert!(!text.contains("hunter2-in-the-file"), "{text}");
}

#[tokio::test]
async fn unknown_keys_and_bad_values_are_refused_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key, words) in [
        ("isuer = \"https://a.example\"\n", "isuer", "unknown key"),
        ("code_ttl = \"soon\"\n", "code_ttl", "bad value"),
        ("listen = \"everywhere\"\n", "listen", "bad value"),
        (
            "access_token_alg = \"none\"\n",
            "access_token_alg",
            "bad value",
        ),
        (
            "issuer = [\"https://a\", { x = 1 }]\n",
            "issuer",
            "bad value",
        ),
        ("issuer = \"https://a.example\n", "", "not valid TOML"),
    ] {
        let file = write(dir.path(), "bad.toml", text);
        for args in [
            vec!["--config", file.as_str(), "serve"],
            vec!["config", "check", file.as_str()],
        ] {
            let (ok, _, err) = tessera(&args, &[]).await;
            assert!(!ok, "{text} accepted by {args:?}");
            assert!(
                err.contains(&format!("`{key}`")) || key.is_empty(),
                "{text}: {err}"
            );
            assert!(
                err.contains(words) && err.contains("bad.toml"),
                "{text}: {err}"
            );
        }
    }
    // A value that parses but is not allowed: refused by the same check as a flag's.
    let file = write(dir.path(), "ttl.toml", "code_ttl = 600\n");
    let (ok, _, err) = tessera(&["config", "check", &file], &[]).await;
    assert!(!ok && err.contains("TESSERA_CODE_TTL"), "{err}");
    let (ok, _, err) = tessera(&["config", "check", "/nonexistent/tessera.toml"], &[]).await;
    assert!(!ok && err.contains("cannot read the config file"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_with_the_file_and_flags_win_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let free_port = || {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let (file_port, flag_port) = (free_port(), free_port());
    let database_url = fresh_database_url(dir.path()).await;
    let keys = dir.path().join("keys");
    let file = write(
        dir.path(),
        "tessera.toml",
        &format!(
            "issuer = \"http://127.0.0.1:{file_port}\"\nlisten = \"127.0.0.1:{file_port}\"\ndatabase_url = \"{database_url}\"\nkeys_dir = \"{}\"\nregistration = \"off\"\nadmin_listen = \"off\"\n",
            keys.display()
        ),
    );
    let start = |args: Vec<String>| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("TESSERA_")) {
            command.env_remove(name);
        }
        command
            .args(args)
            .env("TESSERA_LOG", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let discovery = |port: u16| async move {
        let url = format!("http://127.0.0.1:{port}/.well-known/openid-configuration");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = http().get(&url).send().await {
                return response.json::<Value>().await.unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "the server did not start on {port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let server = start(vec!["--config".into(), file.clone()]);
    let document = discovery(file_port).await;
    assert_eq!(document["issuer"], format!("http://127.0.0.1:{file_port}"));
    assert!(
        document.get("registration_endpoint").is_none(),
        "registration = off"
    );
    drop(server);

    // A flag beats the file; the rest of the file still applies.
    let server = start(vec![
        "--config".into(),
        file,
        "--listen".into(),
        format!("127.0.0.1:{flag_port}"),
        "--issuer".into(),
        format!("http://127.0.0.1:{flag_port}"),
    ]);
    let document = discovery(flag_port).await;
    assert_eq!(document["issuer"], format!("http://127.0.0.1:{flag_port}"));
    assert!(document.get("registration_endpoint").is_none());
    drop(server);
}

/// Every variable of the README's settings table is a key the file may hold.
#[tokio::test]
async fn every_setting_of_the_readme_table_is_a_config_file_key() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let variables: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `TESSERA_"))
        .filter_map(|l| l.split('`').next())
        .filter(|v| *v != "CONFIG")
        .collect();
    assert!(variables.len() >= 30, "{variables:?}");
    let dir = tempfile::tempdir().unwrap();
    for variable in variables {
        let key = variable.to_ascii_lowercase();
        // A value of the wrong kind for most keys: what matters is that the key is known.
        let file = write(dir.path(), "one.toml", &format!("{key} = \"x\"\n"));
        let (_, _, err) = tessera(&["config", "check", &file], &[]).await;
        assert!(!err.contains("unknown key"), "{key}: {err}");
    }
}
