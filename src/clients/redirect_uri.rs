//! Which redirect URIs a client may register (RFC 6749 §3.1.2, RFC 8252 §7, OAuth 2.0
//! Security BCP §4.1): the authorization endpoint then compares them exactly, so what is
//! accepted here is all an attacker could ever be redirected to.

use crate::types::is_loopback_host;

/// Longest redirect URI accepted: longer ones are not URLs a browser keeps intact.
const MAX_LEN: usize = 2000;

/// Checks a redirect URI for registration. Accepted:
/// - `https://` on any host;
/// - `http://` only on a loopback host (`127.0.0.0/8`, `[::1]`, `localhost`; RFC 8252 §7.3,
///   native apps listening on a local port);
/// - a private-use scheme containing a dot, such as `com.example.app:/callback` (RFC 8252
///   §7.1: a reverse domain name the app controls).
///
/// Refused: relative URIs, a fragment (RFC 6749 §3.1.2), a `*` anywhere (no wildcards: the
/// match is exact), user credentials, and every other scheme (`javascript:`, `data:`,
/// `file:`, `urn:ietf:wg:oauth:2.0:oob`, plain `http` on a public host).
pub fn check(value: &str) -> Result<(), String> {
    if value.len() > MAX_LEN {
        return Err(format!(
            "a redirect URI must be at most {MAX_LEN} characters"
        ));
    }
    let url = url::Url::parse(value).map_err(|e| format!("{value} is not an absolute URI: {e}"))?;
    if url.fragment().is_some() || value.contains('#') {
        return Err(format!("{value} must not contain a fragment"));
    }
    if value.contains('*') {
        return Err(format!(
            "{value} contains a wildcard: register each redirect URI exactly"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{value} must not contain user credentials"));
    }
    match url.scheme() {
        "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        "http" if is_loopback_host(&url) => Ok(()),
        "http" => Err(format!(
            "{value} uses http on a host that is not loopback: use https (http is allowed only on 127.0.0.1, [::1] or localhost)"
        )),
        scheme if scheme.contains('.') && !url.cannot_be_a_base() => Ok(()),
        scheme if scheme.contains('.') => Err(format!(
            "{value} needs a path after the scheme, such as {scheme}:/callback"
        )),
        _ => Err(format!(
            "{value} must use https, http on a loopback host, or a private-use scheme with a dot such as com.example.app:/callback"
        )),
    }
}

/// A URL Tessera itself calls or that a browser origin is (back-channel logout, CORS
/// origins): https, or http on a loopback host; no fragment, wildcard or credentials.
pub fn check_web(value: &str) -> Result<(), String> {
    check(value)?;
    match url::Url::parse(value) {
        Ok(url) if url.scheme() == "https" || url.scheme() == "http" => Ok(()),
        _ => Err(format!(
            "{value} must be an https URL (http only on a loopback host)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_what_rfc_8252_allows() {
        for uri in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?tenant=a",
            "http://127.0.0.1:3000/callback",
            "http://127.0.0.2/callback",
            "http://[::1]:8080/cb",
            "http://localhost:8080/cb",
            "com.example.app:/oauth2redirect",
            "com.example.app:///callback",
        ] {
            assert_eq!(check(uri), Ok(()), "{uri}");
        }
    }

    #[test]
    fn refuses_the_rest() {
        for uri in [
            "/callback",
            "app.example.com/callback",
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb#",
            "https://*.example.com/cb",
            "https://app.example.com/*",
            "https://user:pw@app.example.com/cb",
            "http://app.example.com/cb",
            "http://10.0.0.1/cb",
            "http://localhost.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "urn:ietf:wg:oauth:2.0:oob",
            "myapp:/callback",
            "com.example.app:callback",
        ] {
            assert!(check(uri).is_err(), "{uri}");
        }
        assert!(check(&format!("https://a.example/{}", "x".repeat(2000))).is_err());
    }
}
