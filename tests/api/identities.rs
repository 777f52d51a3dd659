#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Identities as people expect: one account whatever the case, width or surrounding spaces
//! of its username (shown as entered), a verified email belonging to one user, and the
//! migration that gives existing users their keys (refusing names that would merge).
//! Ambiguous linking by email: `federation/accounts.rs`.
use std::io::Write;
use std::process::{Command, Output, Stdio};

use sea_orm::ConnectionTrait;
use serde_json::Value;
use tessera::storage::users;

use crate::helpers::*;

/// The `tessera` binary on `app`'s database, `stdin` piped in.
fn tessera(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_DATABASE_URL", &app.settings.database_url)
        .env("TESSERA_KEYS_DIR", &app.settings.keys_dir)
        .env("TESSERA_ISSUER", &app.base)
        .env("TESSERA_ADMIN_LISTEN", "off")
        .env("TESSERA_LOG", "error")
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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into()
}

/// Signs in as `typed` with `password` in a fresh browser: the ID token's claims, or None
/// when the login page refused.
async fn sign_in_as(
    app: &TestApp,
    client: &Registered,
    typed: &str,
    password: &str,
) -> Option<Value> {
    let url = app.authorize_url(&client.client_id, "openid profile");
    let outcome = Browser::new(app)
        .journey(url.as_str(), Some((typed, password)), "allow")
        .await;
    let code = outcome.param("code")?;
    let tokens: Value = app.redeem_code(client, &code).await.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id_token.split('.').nth(1).unwrap())
        .unwrap();
    Some(serde_json::from_slice(&payload).unwrap())
}

#[tokio::test]
async fn any_case_width_or_surrounding_spaces_sign_in_as_the_same_user() {
    let app = spawn_app().await;
    let alice = app.add_user("Alice").await;
    let client = app.add_client(spec("App")).await;
    for typed in [
        "Alice",
        "alice",
        "ALICE",
        "alice ",
        "  aLiCe  ",
        "ａｌｉｃｅ",
    ] {
        let claims = sign_in_as(&app, &client, typed, PASSWORD)
            .await
            .unwrap_or_else(|| panic!("{typed:?} signs in"));
        assert_eq!(claims["sub"], alice.id.as_str(), "{typed:?}");
        assert_eq!(claims["preferred_username"], "Alice", "shown as entered");
    }
    assert!(sign_in_as(&app, &client, "alice2", PASSWORD)
        .await
        .is_none());
    assert!(sign_in_as(&app, &client, "al ice", PASSWORD)
        .await
        .is_none());
}

#[tokio::test]
async fn the_database_refuses_a_second_user_differing_only_in_case_or_width() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    for other in ["Alice", "ＡＬＩＣＥ"] {
        let result = users::insert(
            &app.state.db,
            users::NewUser {
                username: other.into(),
                email: None,
                email_verified: false,
                name: None,
                password_hash: None,
            },
            0,
        )
        .await;
        assert!(result.is_err(), "{other:?} is alice");
    }
    assert_eq!(users::list(&app.state.db).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_cli_refuses_a_username_taken_under_another_spelling_and_a_verified_email_taken() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let added = tessera(
        &app,
        &[
            "user",
            "add",
            "--username",
            " Alice ",
            "--email",
            "Alice@Example.com",
            "--email-verified",
            "--password-stdin",
            "--json",
        ],
        "first line is the password\nsecond line is ignored\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let json: Value = serde_json::from_slice(&added.stdout).unwrap();
    assert_eq!(json["username"], "Alice", "trimmed, shown as entered");
    assert!(
        sign_in_as(&app, &client, "alice", "first line is the password")
            .await
            .is_some(),
        "one line read from the pipe"
    );

    for taken in ["alice", "ALICE", "ａｌｉｃｅ"] {
        let output = tessera(
            &app,
            &["user", "add", "--username", taken, "--password-stdin"],
            "another password\n",
        );
        assert!(!output.status.success());
        let err = stderr(&output);
        assert!(
            err.contains("a user named Alice already exists"),
            "{taken:?}: {err}"
        );
    }

    let output = tessera(
        &app,
        &[
            "user",
            "add",
            "--username",
            "bob",
            "--email",
            " alice@EXAMPLE.com",
            "--email-verified",
            "--password-stdin",
        ],
        "bob's password\n",
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("already belongs to Alice"), "{err}");

    // Unverified, the same address is only a contact detail: allowed.
    let output = tessera(
        &app,
        &[
            "user",
            "add",
            "--username",
            "bob",
            "--email",
            "alice@example.com",
            "--password-stdin",
        ],
        "bob's password\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let found = users::find_by_verified_email(&app.state.db, "ALICE@example.com")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].username, "Alice");
}

/// A database as it was before usernames had keys: the migrations before this one applied,
/// and a `users` table of that time.
async fn database_before_identity_keys(db: &sea_orm::DatabaseConnection) {
    use migration::MigratorTrait;
    let backend = db.get_database_backend();
    db.execute_unprepared(
        "CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, email TEXT, \
         email_verified BOOLEAN NOT NULL, name TEXT, password_hash TEXT, \
         disabled BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
    )
    .await
    .unwrap();
    migration::Migrator::install(db).await.unwrap();
    for m in migration::Migrator::migrations() {
        if m.name().starts_with("m20261203_000400") {
            break;
        }
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DatabaseBackend::Postgres => {
                    "INSERT INTO seaql_migrations (version, applied_at) VALUES ($1, 0)"
                }
                _ => "INSERT INTO seaql_migrations (version, applied_at) VALUES (?, 0)",
            },
            [m.name().into()],
        ))
        .await
        .unwrap();
    }
}

async fn insert_old_user(db: &sea_orm::DatabaseConnection, id: &str, username: &str, email: &str) {
    db.execute_unprepared(&format!(
        "INSERT INTO users (id, username, email, email_verified, name, password_hash, disabled, created_at, updated_at) \
         VALUES ('{id}', '{username}', '{email}', TRUE, NULL, NULL, FALSE, 0, 0)"
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn the_migration_keys_existing_users_and_refuses_names_that_would_merge() {
    use migration::MigratorTrait;
    let dir = tempfile::tempdir().unwrap();
    let mut url = fresh_database_url(dir.path()).await;
    if url.starts_with("sqlite:") {
        url.push_str("?mode=rwc");
    }
    let db = sea_orm::Database::connect(&url).await.unwrap();
    database_before_identity_keys(&db).await;
    insert_old_user(&db, "u1", "alice", "Alice@Example.com").await;
    insert_old_user(&db, "u2", "ALICE", "carol@example.com").await;
    insert_old_user(&db, "u3", "bob", "bob@example.com").await;

    let err = migration::Migrator::up(&db, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"alice\" (sub u1) and \"ALICE\" (sub u2)")
            || err.contains("\"ALICE\" (sub u2) and \"alice\" (sub u1)"),
        "both named: {err}"
    );
    assert!(err.contains("Rename"), "what to do: {err}");
    assert!(!migration::Migrator::get_pending_migrations(&db)
        .await
        .unwrap()
        .is_empty());

    db.execute_unprepared("UPDATE users SET username = 'alice-2' WHERE id = 'u2'")
        .await
        .unwrap();
    migration::Migrator::up(&db, None).await.unwrap();
    let alice = users::find_by_username(&db, " Alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (alice.id.as_str(), alice.username.as_str()),
        ("u1", "alice")
    );
    assert_eq!(alice.username_key, "alice");
    let by_email = users::find_by_verified_email(&db, "alice@example.com")
        .await
        .unwrap();
    assert_eq!(by_email.len(), 1, "existing verified emails are keyed");
    assert_eq!(
        users::find_by_username(&db, "ALICE-2")
            .await
            .unwrap()
            .unwrap()
            .id,
        "u2"
    );
    // Run again: nothing left to do, nothing breaks.
    migration::Migrator::up(&db, None).await.unwrap();
    let duplicate = users::insert(
        &db,
        users::NewUser {
            username: "Bob".into(),
            email: None,
            email_verified: false,
            name: None,
            password_hash: None,
        },
        0,
    )
    .await;
    assert!(
        duplicate.is_err(),
        "the key is unique on a migrated database too"
    );
}

/// Runs `tessera args` on a terminal (`script` gives it a pseudo-terminal) and types each of
/// `lines` after a pause (so each comes after its prompt, as a person types): the output.
fn on_a_terminal(app: &TestApp, args: &str, lines: &[&str]) -> (bool, String) {
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("{} {args}", env!("CARGO_BIN_EXE_tessera")),
            "/dev/null",
        ])
        .env("TESSERA_DATABASE_URL", &app.settings.database_url)
        .env("TESSERA_KEYS_DIR", &app.settings.keys_dir)
        .env("TESSERA_ADMIN_LISTEN", "off")
        .env("TESSERA_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn on_a_terminal_the_password_is_asked_twice_without_echo() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let typed = "typed on a terminal";
    let (ok, out) = on_a_terminal(
        &app,
        "user add --username carol --password-stdin",
        &[typed, "typed on a terminaL"],
    );
    assert!(!ok && out.contains("the two passwords differ"), "{out}");
    assert!(users::find_by_username(&app.state.db, "carol")
        .await
        .unwrap()
        .is_none());

    let (ok, out) = on_a_terminal(
        &app,
        "user add --username carol --password-stdin",
        &[typed, typed],
    );
    assert!(ok, "{out}");
    assert!(out.contains("Password (again):"), "asked twice: {out}");
    assert!(!out.contains(typed), "never echoed: {out}");
    assert!(sign_in_as(&app, &client, "carol", typed).await.is_some());
}
