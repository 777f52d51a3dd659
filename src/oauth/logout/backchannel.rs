//! Back-channel logout deliveries (OpenID Connect Back-Channel Logout 1.0 §2.5): through the
//! durable outbox in `storage::logout_deliveries`, in parallel, each with a short timeout,
//! retried with backoff for a bounded time, to URLs guarded by `crate::outbound`.
use std::time::Duration;

use crate::storage::logout_deliveries::{self, Delivery};
use crate::storage::Db;

/// Each attempt's time limit: a receiver that hangs fails alone.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a delivery is retried before it is given up.
pub const RETRY_FOR_SECONDS: i64 = 3600;
/// How often each server looks for due deliveries.
pub const POLL: Duration = Duration::from_secs(1);

/// Seconds until the next attempt after `attempts` failed ones: 5, 10, 20, … at most 300.
fn backoff(attempts: i32) -> i64 {
    (5i64 << attempts.clamp(0, 6)).min(300)
}

/// The HTTP client for deliveries.
pub fn http_client(allow_private: bool) -> reqwest::Result<reqwest::Client> {
    crate::outbound::client(allow_private, ATTEMPT_TIMEOUT)
}

/// Attempts every delivery in `ids` at once; returns how many were acknowledged. Those that
/// fail stay in the outbox for the background worker.
pub async fn deliver_now(
    db: &Db,
    http: &reqwest::Client,
    allow_private: bool,
    ids: &[String],
    now: i64,
) -> usize {
    let attempts = ids.iter().map(|id| async move {
        match logout_deliveries::find(db, id).await {
            Ok(Some(delivery)) => attempt(db, http, allow_private, &delivery, now).await,
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the logout outbox");
                false
            }
        }
    });
    futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|ok| *ok)
        .count()
}

/// One pass of the background worker: gives up expired deliveries, attempts the due ones.
pub async fn deliver_due(db: &Db, http: &reqwest::Client, allow_private: bool, now: i64) {
    match logout_deliveries::give_up_expired(db, now).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            count = n,
            "gave up back-channel logout deliveries after retrying"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot clean the logout outbox"),
    }
    let due = match logout_deliveries::due(db, now, 64).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the logout outbox");
            return;
        }
    };
    let attempts = due
        .iter()
        .map(|delivery| attempt(db, http, allow_private, delivery, now));
    futures::future::join_all(attempts).await;
}

/// Claims one delivery (so no other instance sends it at the same time) and sends it.
async fn attempt(
    db: &Db,
    http: &reqwest::Client,
    allow_private: bool,
    delivery: &Delivery,
    now: i64,
) -> bool {
    match logout_deliveries::claim(db, delivery, now + backoff(delivery.attempts)).await {
        Ok(true) => {}
        Ok(false) => return false,
        Err(e) => {
            tracing::warn!(error = %e, "cannot claim a back-channel logout delivery");
            return false;
        }
    }
    let outcome = send(http, allow_private, delivery).await;
    let recorded = match &outcome {
        Ok(()) => {
            tracing::info!(client_id = %delivery.client_id, "back-channel logout delivered");
            logout_deliveries::delivered(db, &delivery.id).await
        }
        Err(Refused::Forbidden(reason)) => {
            tracing::warn!(client_id = %delivery.client_id, %reason, "back-channel logout URL refused; not retrying");
            logout_deliveries::delivered(db, &delivery.id).await
        }
        Err(Refused::Failed(reason)) => {
            tracing::warn!(client_id = %delivery.client_id, attempt = delivery.attempts + 1, %reason, "back-channel logout failed; will retry");
            logout_deliveries::failed(db, &delivery.id, reason).await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "cannot update the logout outbox");
    }
    outcome.is_ok()
}

enum Refused {
    /// Never to be sent (a special-use address, not http): dropped.
    Forbidden(String),
    /// Worth retrying (unreachable, timeout, an error status).
    Failed(String),
}

/// §2.5: POST `logout_token` as a form; 200 (or any 2xx) is success.
async fn send(
    http: &reqwest::Client,
    allow_private: bool,
    delivery: &Delivery,
) -> Result<(), Refused> {
    let url = url::Url::parse(&delivery.uri).map_err(|e| Refused::Forbidden(e.to_string()))?;
    crate::outbound::check_url(&url, allow_private).map_err(Refused::Forbidden)?;
    let response = http
        .post(url)
        .form(&[("logout_token", delivery.logout_token.as_str())])
        .send()
        .await
        .map_err(|e| Refused::Failed(describe(e)))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(Refused::Failed(format!("answered {}", response.status())))
    }
}

/// The error with its cause, without the URL (the log has the client id).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    match std::error::Error::source(&error) {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

/// The background worker: every `POLL`, the due deliveries of every instance's outbox (a
/// restart loses none: they are rows). Stops with the runtime.
pub fn spawn_worker(db: Db, clock: crate::clock::SharedClock, allow_private: bool) {
    tokio::spawn(async move {
        let http = match http_client(allow_private) {
            Ok(http) => http,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the back-channel HTTP client; logout deliveries will not be sent");
                return;
            }
        };
        let mut interval = tokio::time::interval(POLL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            deliver_due(&db, &http, allow_private, clock.now()).await;
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(super::backoff(0), 5);
        assert_eq!(super::backoff(1), 10);
        assert_eq!(super::backoff(3), 40);
        assert_eq!(super::backoff(30), 300);
    }
}
