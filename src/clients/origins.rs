//! Which browser origins may call the token, userinfo and revocation endpoints for a client
//! (CORS; Keycloak calls them web origins): the `allowed_cors_origins` it registered, or by
//! default the origins of its https/http redirect URIs (a single-page app is served from the
//! origin it is redirected back to).

use crate::storage::clients::Client;

/// The client's allowed origins, each as a browser serializes it in an `Origin` header
/// (`scheme://host[:port]`, lower-case host, default port omitted). Private-use-scheme
/// redirect URIs have no web origin and add none.
pub fn allowed_origins(client: &Client) -> Vec<String> {
    let source = if client.allowed_cors_origins.is_empty() {
        &client.redirect_uris
    } else {
        &client.allowed_cors_origins
    };
    let mut origins: Vec<String> = source.iter().filter_map(|uri| web_origin(uri)).collect();
    origins.sort();
    origins.dedup();
    origins
}

/// Whether `origin` (an `Origin` header's value) is one of the client's allowed origins.
pub fn allows(client: &Client, origin: &str) -> bool {
    allowed_origins(client).iter().any(|o| o == origin)
}

fn web_origin(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    if !crate::types::is_https_or_loopback(&url) {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn client(redirect_uris: &[&str], cors: &[&str]) -> Client {
        crate::clients::validate(crate::clients::ClientMetadata {
            name: "app".into(),
            redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
            allowed_cors_origins: cors.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn default_is_the_redirect_uris_origins() {
        let c = client(
            &[
                "https://App.example:443/cb",
                "https://app.example/other",
                "http://127.0.0.1:3000/cb",
                "com.example.app:/cb",
            ],
            &[],
        );
        assert_eq!(
            allowed_origins(&c),
            vec!["http://127.0.0.1:3000", "https://app.example"]
        );
        assert!(allows(&c, "https://app.example"));
        assert!(!allows(&c, "https://app.example:8443"));
        assert!(!allows(&c, "null"));
    }

    #[test]
    fn a_registered_list_replaces_the_default() {
        let c = client(&["https://app.example/cb"], &["https://spa.example"]);
        assert_eq!(allowed_origins(&c), vec!["https://spa.example"]);
        assert!(!allows(&c, "https://app.example"));
    }
}
