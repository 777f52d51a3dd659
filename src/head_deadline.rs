//! The request-head deadline of a connection: a client must send a complete request head
//! within `limit` of connecting or of its previous answer, or the connection is closed. So a
//! client that trickles its head (or sits idle on a keep-alive connection) cannot hold a
//! connection open. The wait for the next head starts when an answer is ready, not when it
//! has been sent: a client slower than `limit` to read an answer's body is cut off too.
//!
//! Not hyper's `header_read_timeout`: hyper drops its timer after every request head and
//! boxes and registers a new one for the next, two timer-wheel updates under the runtime's
//! timer lock per request, which cost a client_credentials grant about 2 µs of its 46 µs of
//! CPU (`bench/cpu_per_request.sh`, BENCHMARKS.md stop 18). Here a connection has one timer
//! for its whole life, and a request costs a clock read and an atomic store: the timer only
//! wakes at the deadline it was last set to, and then either closes the connection or sets
//! itself to the deadline that has meanwhile moved on.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// Marks a connection whose request head has arrived and whose answer is not yet ready:
/// no deadline runs meanwhile (the handler and body reads have their own).
const ANSWERING: u64 = u64::MAX;

/// Shared by a connection's service, which moves the deadline, and its watch.
pub struct HeadDeadline {
    opened: Instant,
    limit: Duration,
    /// When the wait for the current request head began, in milliseconds since `opened`; or
    /// `ANSWERING`.
    waiting_since: AtomicU64,
}

impl HeadDeadline {
    /// A deadline for a connection opened now, whose first head is due within `limit`.
    pub fn new(limit: Duration) -> Arc<HeadDeadline> {
        Arc::new(HeadDeadline {
            opened: Instant::now(),
            limit,
            waiting_since: AtomicU64::new(0),
        })
    }

    /// A request head has arrived: no deadline runs until the returned guard is dropped,
    /// which (answer ready, or the request abandoned) starts the wait for the next head.
    pub fn head_arrived(self: &Arc<Self>) -> Answering {
        self.waiting_since.store(ANSWERING, Ordering::Relaxed);
        Answering(self.clone())
    }

    /// Completes when the connection has waited longer than the limit for a request head;
    /// the caller then closes it.
    pub async fn expired(&self) {
        let mut due = self.opened + self.limit;
        let sleep = tokio::time::sleep_until(due);
        tokio::pin!(sleep);
        loop {
            sleep.as_mut().await;
            let now = Instant::now();
            due = match self.waiting_since.load(Ordering::Relaxed) {
                ANSWERING => now + self.limit,
                since => {
                    let due = self.opened + Duration::from_millis(since) + self.limit;
                    if now >= due {
                        return;
                    }
                    due
                }
            };
            sleep.as_mut().reset(due);
        }
    }

    fn start_waiting(&self) {
        let since = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(ANSWERING - 1);
        self.waiting_since.store(since, Ordering::Relaxed);
    }
}

/// Held while a request is answered; see [`HeadDeadline::head_arrived`].
pub struct Answering(Arc<HeadDeadline>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.start_waiting();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn expires_only_after_waiting_the_limit_for_a_head() {
        let deadline = HeadDeadline::new(LIMIT);
        let expired = deadline.expired();
        tokio::pin!(expired);
        // A head at 200 ms, answered for 600 ms: nothing expires while answering, and the
        // next head is due one limit after the answer.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let answering = deadline.head_arrived();
        tokio::select! {
            () = &mut expired => panic!("expired while answering"),
            () = tokio::time::sleep(Duration::from_millis(600)) => {}
        }
        drop(answering);
        let answered = Instant::now();
        expired.await;
        let waited = answered.elapsed();
        assert!(
            waited >= LIMIT - Duration::from_millis(2) && waited < LIMIT * 2,
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn an_idle_connection_expires_at_the_limit() {
        let deadline = HeadDeadline::new(LIMIT);
        let opened = Instant::now();
        deadline.expired().await;
        let waited = opened.elapsed();
        assert!(waited >= LIMIT && waited < LIMIT * 2, "{waited:?}");
    }
}
