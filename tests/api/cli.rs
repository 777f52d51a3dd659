#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The CLI as an operator meets it: the real binary, on a fresh database, no server running.
use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::helpers::fresh_database_url;

/// A fresh database and keys directory for the real `tessera` binary.
struct Operator {
    dir: tempfile::TempDir,
    database_url: String,
}

impl Operator {
    async fn new() -> Operator {
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database_url(dir.path()).await;
        Operator { dir, database_url }
    }

    /// The operator of a running test server (its database).
    fn of(app: &crate::helpers::TestApp) -> Operator {
        Operator {
            dir: tempfile::tempdir().unwrap(),
            database_url: app.settings.database_url.clone(),
        }
    }

    fn run_with(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .env("TESSERA_DATABASE_URL", &self.database_url)
            .env("TESSERA_KEYS_DIR", self.dir.path().join("keys"))
            .env("TESSERA_LOG", "error")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, "", &[])
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into()
}

/// Flags only `serve` takes; no other command may list or parse them.
const SERVER_FLAGS: [&str; 6] = [
    "--listen",
    "--access-token-alg",
    "--password-login",
    "--code-ttl",
    "--federation-policy",
    "--db-pool-size",
];

#[tokio::test]
async fn user_add_help_lists_only_its_own_flags() {
    let op = Operator::new().await;
    let output = op.run(&["user", "add", "--help"]);
    assert!(output.status.success());
    let help = stdout(&output);
    assert!(help.lines().count() <= 25, "{help}");
    for flag in [
        "--username",
        "--password-stdin",
        "--email",
        "--database-url",
        "--json",
    ] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
    for flag in SERVER_FLAGS {
        assert!(!help.contains(flag), "{flag} in {help}");
    }
    // Every flag says what it is for: no line that names a flag ends without a help text.
    for line in help.lines().filter(|l| l.trim_start().starts_with("--")) {
        let words = line.split_whitespace().count();
        assert!(words >= 3, "flag without help: {line}");
    }
    // The server's flags are still there, on `serve`.
    let serve = stdout(&op.run(&["serve", "--help"]));
    for flag in SERVER_FLAGS {
        assert!(serve.contains(flag), "{flag} in {serve}");
    }
}

/// Every command but `serve` fits on a screen and shows none of the server's flags.
#[tokio::test]
async fn no_command_but_serve_shows_the_server_flags() {
    let op = Operator::new().await;
    for command in [
        &["keys"][..],
        &["keys", "list"],
        &["keys", "rotate"],
        &["keys", "retire"],
        &["keys", "rotate-master"],
        &["client", "add"],
        &["client", "update"],
        &["client", "grant-role"],
        &["user", "sign-out"],
        &["user", "grant-role"],
        &["role"],
        &["role", "add"],
        &["group"],
        &["group", "grant-role"],
        &["org"],
        &["org", "grant-role"],
        &["upstream", "add"],
        &["registration-token", "create"],
        &["apikey", "create"],
        &["apikey", "list"],
        &["apikey", "revoke"],
        &["resource", "add"],
        &["resource", "update"],
        &["migrate"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let output = op.run(&args);
        assert!(output.status.success(), "{command:?}");
        let help = stdout(&output);
        assert!(help.lines().count() <= 70, "{command:?}: {help}");
        for flag in SERVER_FLAGS {
            assert!(!help.contains(flag), "{flag} in {command:?}: {help}");
        }
    }
}

#[tokio::test]
async fn errors_are_json_on_stderr_with_a_failing_exit_code() {
    let op = Operator::new().await;
    for (args, code, message) in [
        // Found by the command line parser.
        (
            vec![
                "client",
                "add",
                "--redirect-uri",
                "https://a.example/cb",
                "--json",
            ],
            2,
            "--name",
        ),
        (vec!["user", "frobnicate", "--json"], 2, "frobnicate"),
        // Found by the command.
        (
            vec!["user", "disable", "--username", "nobody", "--json"],
            1,
            "no user named nobody",
        ),
        (
            vec![
                "client",
                "add",
                "--name",
                "App",
                "--redirect-uri",
                "http://app.example.com/cb",
                "--json",
            ],
            1,
            "loopback",
        ),
    ] {
        let output = op.run(&args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
        let error: Value = serde_json::from_str(stderr(&output).trim())
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stderr(&output)));
        let text = error["error"].as_str().unwrap();
        assert!(text.contains(message), "{args:?}: {text}");
        assert_eq!(error.as_object().unwrap().len(), 1);
    }
    // Without --json the same error is text.
    let output = op.run(&["user", "disable", "--username", "nobody"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output).trim(), "error: no user named nobody");
}

#[tokio::test]
async fn server_settings_in_the_environment_leave_other_commands_alone() {
    let op = Operator::new().await;
    let env = [
        ("TESSERA_ACCESS_TOKEN_ALG", "es256"),
        ("TESSERA_CODE_TTL", "not a number"),
        ("TESSERA_LISTEN", "nowhere"),
        ("TESSERA_FEDERATION_POLICY", "whatever"),
    ];
    let output = op.run_with(&["user", "list", "--json"], "", &env);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "[]");
    // ... while `serve` still refuses them.
    let output = op.run_with(&["serve"], "", &env);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid value"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn a_password_on_the_command_line_is_refused_with_the_right_advice() {
    let op = Operator::new().await;
    let output = op.run(&["user", "add", "--username", "alice", "--password", "x"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("--password-stdin"), "{err}");
    assert!(!err.contains("--password-login"), "{err}");
    let output = op.run(&["user", "list", "--json"]);
    assert_eq!(stdout(&output).trim(), "[]", "nothing was added");
}

#[tokio::test]
async fn a_missing_flag_shows_the_commands_usage_without_server_flags() {
    let op = Operator::new().await;
    let output = op.run(&["client", "add", "--redirect-uri", "https://a.example/cb"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("Usage: tessera client add"), "{err}");
    assert!(err.contains("--name"), "{err}");
    for flag in SERVER_FLAGS {
        assert!(!err.contains(flag), "{flag} in {err}");
    }
}

#[tokio::test]
async fn lists_start_with_a_header_row() {
    let op = Operator::new().await;
    let empty = stdout(&op.run(&["client", "list"]));
    assert!(
        empty.starts_with("No clients. Register one with: tessera client add"),
        "{empty}"
    );
    let output = op.run_with(
        &[
            "user",
            "add",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--password-stdin",
            "--json",
        ],
        "correct horse battery staple\n",
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let added: Value = serde_json::from_slice(&output.stdout).unwrap();
    let output = op.run(&[
        "client",
        "add",
        "--name",
        "Web app",
        "--redirect-uri",
        "http://127.0.0.1:3000/cb",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));

    let users = stdout(&op.run(&["user", "list"]));
    let lines: Vec<Vec<&str>> = users
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["USERNAME", "SUB", "EMAIL", "STATE"]);
    assert_eq!(
        lines[1],
        [
            "alice",
            added["id"].as_str().unwrap(),
            "alice@example.com",
            "active"
        ]
    );
    let clients = stdout(&op.run(&["client", "list"]));
    let header: Vec<&str> = clients.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "CLIENT_ID",
            "NAME",
            "AUTH_METHOD",
            "GRANT_TYPES",
            "REDIRECT_URIS"
        ]
    );
    assert!(
        clients
            .lines()
            .nth(1)
            .unwrap()
            .ends_with("http://127.0.0.1:3000/cb"),
        "{clients}"
    );
    let upstreams = stdout(&op.run(&["upstream", "list"]));
    assert!(
        upstreams.starts_with("No upstream providers."),
        "{upstreams}"
    );

    // The JSON forms are arrays of objects.
    let listed: Value =
        serde_json::from_slice(&op.run(&["user", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["username"], "alice");
    let listed: Value =
        serde_json::from_slice(&op.run(&["client", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["client_name"], "Web app");
}

#[tokio::test]
async fn migrate_says_what_it_did_in_json_too() {
    let op = Operator::new().await;
    let output = op.run(&["migrate", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["migrated"], true);
    let applied = value["applied"].as_array().unwrap();
    assert!(
        applied
            .iter()
            .any(|m| m == "m20261204_000100_audit_user_index"),
        "{value}"
    );
    // Run again: nothing is pending, and the text says so.
    let again = op.run(&["migrate"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("already up to date"),
        "{}",
        stdout(&again)
    );
    let value = json_ok(&op.run(&["migrate", "--json"]));
    assert_eq!(value["applied"], serde_json::json!([]));
}

fn json_ok(output: &Output) -> Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_slice(&output.stdout).unwrap()
}

// The CLI runs as a blocking child process: the server needs its own worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_tokens_from_the_cli_allow_registrations_until_revoked() {
    let app = crate::helpers::spawn_app().await;
    let op = Operator::of(&app);
    let created = json_ok(&op.run(&[
        "registration-token",
        "create",
        "--uses",
        "2",
        "--expires-in",
        "600",
        "--json",
    ]));
    let token = created["token"].as_str().unwrap();
    assert!(created["expires_at"].as_i64().unwrap() > 0);
    let second = json_ok(&op.run(&["registration-token", "create", "--json"]));

    let register = |token: String| {
        let url = app.url("/register");
        async move {
            crate::helpers::http()
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({"redirect_uris": [crate::helpers::REDIRECT_URI]}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        register(token.to_string()).await,
        reqwest::StatusCode::CREATED
    );

    let listed = stdout(&op.run(&["registration-token", "list"]));
    let header: Vec<&str> = listed.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "USES_LEFT", "EXPIRES_AT", "STATE"]);
    assert!(!listed.contains(token), "the token itself is never listed");
    let listed = json_ok(&op.run(&["registration-token", "list", "--json"]));
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == created["id"])
        .unwrap();
    assert_eq!(entry["uses_left"], 1);
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let id = created["id"].as_str().unwrap();
    let revoked = json_ok(&op.run(&["registration-token", "revoke", "--id", id, "--json"]));
    assert_eq!(revoked["revoked"], true);
    assert_eq!(
        register(token.to_string()).await,
        reqwest::StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        register(second["token"].as_str().unwrap().to_string()).await,
        reqwest::StatusCode::CREATED
    );
    let output = op.run(&["registration-token", "revoke", "--id", id, "--json"]);
    assert_eq!(output.status.code(), Some(1));
}

#[tokio::test]
async fn client_show_and_update_change_what_add_registered() {
    let op = Operator::new().await;
    let added = json_ok(&op.run(&[
        "client",
        "add",
        "--name",
        "Shop",
        "--redirect-uri",
        "https://shop.example.com/cb",
        "--client-uri",
        "https://shop.example.com",
        "--policy-uri",
        "https://shop.example.com/privacy",
        "--logo-uri",
        "https://shop.example.com/logo.png",
        "--post-logout-redirect-uri",
        "https://shop.example.com/bye",
        "--backchannel-logout-uri",
        "https://shop.example.com/bc",
        "--web-origin",
        "https://shop.example.com",
        "--json",
    ]));
    let id = added["client_id"].as_str().unwrap();
    assert_eq!(added["client_uri"], "https://shop.example.com");
    assert_eq!(
        added["post_logout_redirect_uris"][0],
        "https://shop.example.com/bye"
    );

    let shown = json_ok(&op.run(&["client", "show", "--client-id", id, "--json"]));
    assert_eq!(shown["policy_uri"], "https://shop.example.com/privacy");
    assert_eq!(
        shown["backchannel_logout_uri"],
        "https://shop.example.com/bc"
    );
    assert_eq!(shown["allowed_cors_origins"][0], "https://shop.example.com");
    assert!(shown.get("client_secret").is_none());
    let text = stdout(&op.run(&["client", "show", "--client-id", id]));
    assert!(
        text.contains("logo_uri: https://shop.example.com/logo.png"),
        "{text}"
    );

    // Only the flags given change.
    let updated = json_ok(&op.run(&[
        "client",
        "update",
        "--client-id",
        id,
        "--name",
        "Shop 2",
        "--redirect-uri",
        "https://shop.example.com/new",
        "--tos-uri",
        "https://shop.example.com/tos",
        "--json",
    ]));
    assert_eq!(updated["client_name"], "Shop 2");
    assert_eq!(
        updated["redirect_uris"],
        serde_json::json!(["https://shop.example.com/new"])
    );
    assert_eq!(updated["tos_uri"], "https://shop.example.com/tos");
    assert_eq!(updated["client_uri"], "https://shop.example.com", "kept");
    assert!(updated.get("client_secret").is_none(), "the secret is kept");

    // Updates are validated like registrations.
    let output = op.run(&[
        "client",
        "update",
        "--client-id",
        id,
        "--redirect-uri",
        "http://shop.example.com/cb",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let output = op.run(&[
        "client",
        "update",
        "--client-id",
        id,
        "--client-uri",
        "http://shop.example.com",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("https"), "{}", stderr(&output));
    let output = op.run(&["client", "show", "--client-id", "nobody", "--json"]);
    assert_eq!(output.status.code(), Some(1));

    // Becoming public drops the secret; going back issues a new one.
    let public = json_ok(&op.run(&["client", "update", "--client-id", id, "--public", "--json"]));
    assert_eq!(public["token_endpoint_auth_method"], "none");
    let back = json_ok(&op.run(&[
        "client",
        "update",
        "--client-id",
        id,
        "--auth-method",
        "client_secret_basic",
        "--json",
    ]));
    assert!(back["client_secret"].as_str().is_some());
}
