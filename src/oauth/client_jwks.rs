//! The public keys of a `private_key_jwt` client that registered a `jwks_uri`: fetched
//! through the SSRF-guarded `outbound` client, with the response's time and size capped, kept
//! for a few minutes, and fetched again (at most every few seconds) when an assertion names
//! a key the cached set lacks, so a client can rotate its keys without telling us.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::jose::client_keys;

/// How long a fetched set is used without asking again.
const FRESH_FOR: Duration = Duration::from_secs(300);
/// The shortest interval between two fetches of one URL, however many assertions fail: an
/// attacker must not turn Tessera into a load generator against the client's server.
const REFETCH_AFTER: Duration = Duration::from_secs(5);
/// A JWK set of a few keys is a few kilobytes.
const MAX_BYTES: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);
/// Sets kept at most (one per URL); past it the cache starts again empty.
const MAX_ENTRIES: usize = 1024;

struct Entry {
    /// The set as JSON, or `None` when the last fetch failed.
    jwks: Option<Arc<str>>,
    fetched_at: Instant,
}

pub struct ClientJwks {
    /// `Err` only if the TLS backend failed to start; then every fetch fails with that.
    http: Result<reqwest::Client, String>,
    allow_private: bool,
    entries: Mutex<HashMap<String, Entry>>,
}

/// Why a client's keys could not be had; logged, never shown to the client.
pub type FetchError = String;

impl ClientJwks {
    pub fn new(allow_private: bool) -> ClientJwks {
        ClientJwks {
            http: crate::outbound::client(allow_private, TIMEOUT).map_err(|e| e.to_string()),
            allow_private,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The set at `uri`: the cached one while fresh, unless `stale` says the cached one
    /// failed to verify an assertion (then fetched again, if the last fetch is old enough).
    pub async fn get(&self, uri: &str, stale: bool) -> Result<Arc<str>, FetchError> {
        if let Some((jwks, age)) = self.cached(uri) {
            // A failure is remembered only as long as a refetch is held back.
            let keep = age < REFETCH_AFTER || (age < FRESH_FOR && !stale && jwks.is_some());
            if keep {
                return jwks.ok_or_else(|| format!("the last fetch of {uri} failed"));
            }
        }
        let fetched = self.fetch(uri).await;
        self.remember(uri, fetched.as_ref().ok().cloned());
        fetched
    }

    fn cached(&self, uri: &str) -> Option<(Option<Arc<str>>, Duration)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(uri)
            .map(|e| (e.jwks.clone(), e.fetched_at.elapsed()))
    }

    fn remember(&self, uri: &str, jwks: Option<Arc<str>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(uri) {
            entries.clear();
        }
        entries.insert(
            uri.to_string(),
            Entry {
                jwks,
                fetched_at: Instant::now(),
            },
        );
    }

    async fn fetch(&self, uri: &str) -> Result<Arc<str>, FetchError> {
        let url = url::Url::parse(uri).map_err(|e| format!("{uri}: {e}"))?;
        crate::outbound::check_url(&url, self.allow_private)?;
        let http = self
            .http
            .as_ref()
            .map_err(|e| format!("no HTTP client: {e}"))?;
        let mut response = http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("fetching {uri}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{uri} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("reading {uri}: {e}"))?
        {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(format!("{uri} sent more than {MAX_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body).map_err(|_| format!("{uri} sent no UTF-8 text"))?;
        client_keys::parse_client_jwks(&text).map_err(|e| format!("{uri}: {e}"))?;
        Ok(Arc::from(text))
    }
}
