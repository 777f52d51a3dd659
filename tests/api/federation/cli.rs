//! `tessera upstream add | list | remove`, run as the real binary against our database.
use super::*;

/// `tessera upstream ...` as an operator runs it, against our server's database.
/// (Async: the upstream it discovers runs on this test's runtime.)
async fn cli(down: &TestApp, args: &[&str], stdin: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_DATABASE_URL", &down.settings.database_url)
        .env("TESSERA_ISSUER", &down.base)
        .env("TESSERA_MASTER_KEY", down.master_key())
        .env("TESSERA_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    child.wait_with_output().await.unwrap()
}

fn json_out(output: &std::process::Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn the_cli_adds_lists_and_removes_upstreams() {
    let s = setup(|_| {}).await;
    s.up.add_user("bob").await;
    let secret = format!("{}\n", s.up_client.secret.clone().unwrap());

    let added = json_out(
        &cli(
            &s.down,
            &[
                "upstream",
                "add",
                "--name",
                "corp",
                "--upstream-issuer",
                &s.up_issuer,
                "--client-id",
                &s.up_client.client_id,
                "--client-secret-stdin",
                "--json",
            ],
            &secret,
        )
        .await,
    );
    assert_eq!(added["issuer"], s.up_issuer.as_str());
    assert_eq!(added["callback_url"], s.down.url(CALLBACK_PATH).as_str());
    assert_eq!(added["discovered"], true);
    assert_eq!(added["scopes"], "openid email profile");
    assert!(
        !added.to_string().contains(&secret.trim()[..8]),
        "no secret"
    );

    // The text form says what to register at the provider.
    let text = cli(
        &s.down,
        &[
            "upstream",
            "add",
            "--name",
            "corp-2",
            // The flag's former spelling still works.
            "--issuer",
            &s.up_issuer,
            "--client-id",
            "x",
            "--client-secret-stdin",
            "--scope",
            "profile",
        ],
        "secret\n",
    )
    .await;
    assert!(text.status.success());
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains(&format!(
            "Register this redirect URI at the provider: {}",
            s.down.url(CALLBACK_PATH)
        )),
        "{stdout}"
    );

    // What the CLI registered is what the server uses.
    let browser = Browser::new(&s.down);
    let request = app_request(&s).await;
    let (html, _) = upstream_button(&s, &browser, &request).await;
    assert!(html.contains("/login/upstream/corp?"), "{html}");
    let (request, outcome) = federated_login(&s, &browser, "bob").await;
    let claims = app_tokens(&s, request, &outcome).await;
    assert_eq!(claims["idp"], s.up_issuer.as_str());

    let listed = json_out(&cli(&s.down, &["upstream", "list", "--json"], "").await);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["corp", "corp-2"]);
    assert!(listed[0].get("client_secret").is_none());

    let removed = json_out(
        &cli(
            &s.down,
            &["upstream", "remove", "--name", "corp-2", "--json"],
            "",
        )
        .await,
    );
    assert_eq!(removed["removed"], true);
    assert_eq!(
        upstreams::list(&s.down.state.db).await.unwrap().len(),
        1,
        "removed from the database the server reads"
    );

    // Refusals: a bad name, a duplicate, no secret on stdin, an unknown upstream.
    for (args, stdin, message) in [
        (
            vec![
                "upstream",
                "add",
                "--name",
                "Bad_Name",
                "--upstream-issuer",
                "http://127.0.0.1:1",
                "--client-id",
                "x",
                "--client-secret-stdin",
            ],
            "s\n",
            "invalid upstream name",
        ),
        (
            vec![
                "upstream",
                "add",
                "--name",
                "corp",
                "--upstream-issuer",
                "http://127.0.0.1:1",
                "--client-id",
                "x",
                "--client-secret-stdin",
            ],
            "s\n",
            "already exists",
        ),
        (
            vec![
                "upstream",
                "add",
                "--name",
                "other",
                "--upstream-issuer",
                "http://127.0.0.1:1",
                "--client-id",
                "x",
            ],
            "",
            "--client-secret-stdin",
        ),
        (
            vec!["upstream", "remove", "--name", "nope"],
            "",
            "no upstream named nope",
        ),
    ] {
        let output = cli(&s.down, &args, stdin).await;
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }

    // An unreachable issuer is registered with a warning, not refused.
    let output = cli(
        &s.down,
        &[
            "upstream",
            "add",
            "--name",
            "later",
            "--upstream-issuer",
            "http://127.0.0.1:1",
            "--client-id",
            "x",
            "--client-secret-stdin",
            "--json",
        ],
        "s\n",
    )
    .await;
    let value = json_out(&output);
    assert_eq!(value["discovered"], false);
    assert!(String::from_utf8_lossy(&output.stderr).contains("warning"));

    // The issuer is stored as the provider spells it (discovery compares exactly).
    let value = json_out(
        &cli(
            &s.down,
            &[
                "upstream",
                "add",
                "--name",
                "slash",
                "--upstream-issuer",
                &format!("{}/", s.up_issuer),
                "--client-id",
                "x",
                "--client-secret-stdin",
                "--json",
            ],
            "s\n",
        )
        .await,
    );
    assert_eq!(value["issuer"], s.up_issuer.as_str());
    assert_eq!(value["discovered"], true);
}
