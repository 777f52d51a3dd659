//! One simulated browser plus its relying party: a cookie jar, and the authorization code
//! flow with PKCE, through Tessera's login and consent forms or the reference provider's
//! development interactions.
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use reqwest::header::LOCATION;
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use url::Url;

/// Which provider is on the other end: the paths and the interaction pages differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Tessera,
    Reference,
}

/// Where the provider is and who the relying party and the user are.
#[derive(Clone, Debug)]
pub struct Target {
    pub provider: Provider,
    pub base: Url,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub scope: String,
    pub username: String,
    pub password: String,
}

impl Target {
    fn authorize_url(&self) -> anyhow::Result<Url> {
        let path = match self.provider {
            Provider::Tessera => "/authorize",
            Provider::Reference => "/auth",
        };
        Ok(self.base.join(path)?)
    }

    pub fn token_url(&self) -> anyhow::Result<Url> {
        Ok(self.base.join("/token")?)
    }
}

pub fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// An RFC 7636 verifier (43 characters) and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The value of a hidden form input, as Tessera's templates render it.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

pub struct Browser {
    pub http: reqwest::Client,
    pub target: Arc<Target>,
    /// Tessera's CSRF token for this session, learned from the first login page.
    pub csrf: Option<String>,
}

/// What one authorization round trip produced.
pub struct Authorized {
    pub code: String,
    pub verifier: String,
}

impl Browser {
    pub fn new(target: Arc<Target>) -> anyhow::Result<Browser> {
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .cookie_store(true)
            .pool_max_idle_per_host(4)
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Browser {
            http,
            target,
            csrf: None,
        })
    }

    fn resolve(&self, current: &Url, response: &reqwest::Response) -> anyhow::Result<Url> {
        let location = response
            .headers()
            .get(LOCATION)
            .ok_or_else(|| anyhow!("{} from {current} without Location", response.status()))?
            .to_str()?;
        Ok(current.join(location)?)
    }

    /// Runs an authorization request to the end: follows redirects, fills in whatever login
    /// and consent pages appear, and returns the code delivered to the redirect URI.
    /// `extra` is appended to the query (e.g. `prompt=login`).
    pub async fn authorize(&mut self, extra: &[(&str, &str)]) -> anyhow::Result<Authorized> {
        let (verifier, challenge) = pkce();
        let state = random_b64(12);
        let mut url = self.target.authorize_url()?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.target.client_id)
                .append_pair("redirect_uri", &self.target.redirect_uri)
                .append_pair("scope", &self.target.scope)
                .append_pair("state", &state)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            for (k, v) in extra {
                query.append_pair(k, v);
            }
        }
        for _ in 0..16 {
            let response = self
                .http
                .get(url.clone())
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            let next = match response.status() {
                s if s.is_redirection() => self.resolve(&url, &response)?,
                StatusCode::OK => {
                    let html = response.text().await?;
                    self.interact(&url, &html).await?
                }
                s => bail!(
                    "{s} from {url}: {}",
                    excerpt(&response.text().await.unwrap_or_default())
                ),
            };
            if next.as_str().starts_with(&self.target.redirect_uri) {
                return code_from(&next, &state).map(|code| Authorized { code, verifier });
            }
            url = next;
        }
        bail!("too many redirects in the authorization flow")
    }

    /// Submits the form on a login or consent page; returns where the provider sends us next.
    async fn interact(&mut self, url: &Url, html: &str) -> anyhow::Result<Url> {
        let t = self.target.clone();
        let form: Vec<(&str, String)> = match (t.provider, url.path()) {
            (Provider::Tessera, "/login") => {
                let csrf = hidden(html, "csrf_token").context("no csrf_token on the login page")?;
                let request_id =
                    hidden(html, "request_id").context("no request_id on the login page")?;
                self.csrf = Some(csrf.clone());
                vec![
                    ("csrf_token", csrf),
                    ("request_id", request_id),
                    ("username", t.username.clone()),
                    ("password", t.password.clone()),
                ]
            }
            (Provider::Tessera, "/consent") => {
                let csrf =
                    hidden(html, "csrf_token").context("no csrf_token on the consent page")?;
                let request_id =
                    hidden(html, "request_id").context("no request_id on the consent page")?;
                vec![
                    ("csrf_token", csrf),
                    ("request_id", request_id),
                    ("decision", "allow".into()),
                ]
            }
            (Provider::Reference, path) if path.starts_with("/interaction/") => {
                if html.contains("name=\"prompt\" value=\"login\"") {
                    vec![
                        ("prompt", "login".into()),
                        ("login", t.username.clone()),
                        ("password", t.password.clone()),
                    ]
                } else {
                    vec![("prompt", "consent".into())]
                }
            }
            _ => bail!("unexpected page at {url}: {}", excerpt(html)),
        };
        let action = match t.provider {
            Provider::Tessera => url.join(url.path())?,
            Provider::Reference => url.clone(),
        };
        let response = self.http.post(action.clone()).form(&form).send().await?;
        if !response.status().is_redirection() {
            bail!(
                "{} from POST {action}: {}",
                response.status(),
                excerpt(&response.text().await.unwrap_or_default())
            );
        }
        self.resolve(&action, &response)
    }

    /// Redeems a code at the token endpoint (client_secret_basic, PKCE); returns the response.
    pub async fn redeem(&self, authorized: &Authorized) -> anyhow::Result<serde_json::Value> {
        let t = &self.target;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", authorized.code.as_str()),
            ("redirect_uri", t.redirect_uri.as_str()),
            ("code_verifier", authorized.verifier.as_str()),
        ];
        let response = self
            .http
            .post(t.token_url()?)
            .basic_auth(&t.client_id, Some(&t.client_secret))
            .form(&form)
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        if status != StatusCode::OK {
            bail!("{status} from the token endpoint: {}", excerpt(&body));
        }
        let value: serde_json::Value = serde_json::from_str(&body)?;
        if value.get("access_token").and_then(|v| v.as_str()).is_none() {
            bail!("token response without access_token: {}", excerpt(&body));
        }
        Ok(value)
    }

    /// One password login through Tessera's form for a fresh pending request (`prompt=login`),
    /// reusing this session's CSRF token. Returns after the login POST has redirected.
    pub async fn tessera_login(&mut self) -> anyhow::Result<()> {
        let t = self.target.clone();
        let csrf = self
            .csrf
            .clone()
            .context("log in once through the pages first")?;
        let mut url = t.authorize_url()?;
        let (_, challenge) = pkce();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &t.client_id)
            .append_pair("redirect_uri", &t.redirect_uri)
            .append_pair("scope", &t.scope)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("prompt", "login");
        let response = self.http.get(url.clone()).send().await?;
        let login = self.resolve(&url, &response)?;
        let request_id = login
            .query_pairs()
            .find(|(k, _)| k == "request_id")
            .map(|(_, v)| v.into_owned())
            .with_context(|| {
                format!("authorize with prompt=login went to {login}, not the login page")
            })?;
        let form = [
            ("csrf_token", csrf.as_str()),
            ("request_id", request_id.as_str()),
            ("username", t.username.as_str()),
            ("password", t.password.as_str()),
        ];
        let action = login.join("/login")?;
        let response = self.http.post(action.clone()).form(&form).send().await?;
        if !response.status().is_redirection() {
            bail!(
                "login failed: {} {}",
                response.status(),
                excerpt(&response.text().await.unwrap_or_default())
            );
        }
        let next = self.resolve(&action, &response)?;
        if !next.as_str().starts_with(&t.redirect_uri) {
            bail!("login went to {next}, not back to the client");
        }
        Ok(())
    }
}

fn code_from(url: &Url, state: &str) -> anyhow::Result<String> {
    let get = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(error) = get("error") {
        bail!(
            "authorization error {error}: {}",
            get("error_description").unwrap_or_default()
        );
    }
    if get("state").as_deref() != Some(state) {
        bail!("state mismatch in {url}");
    }
    get("code").ok_or_else(|| anyhow!("no code in {url}"))
}

fn excerpt(text: &str) -> String {
    text.chars()
        .take(300)
        .collect::<String>()
        .replace('\n', " ")
}
