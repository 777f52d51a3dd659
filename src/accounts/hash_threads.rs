//! The threads password hashing runs on: at most `limit` at a time, off the async runtime, so
//! a login flood queues here instead of starving every other request. Threads start when
//! work arrives and leave after two idle periods: the first gives back what the thread holds
//! (the argon2 work area), the second lets the allocator's delayed purge fall due before the
//! thread exits — mimalloc returns a freed block to the system only on a later allocation or
//! at thread exit, so an idle thread that merely freed its 19 MiB kept it resident. Threads
//! wait for work in turns (one holds the queue), so after a burst all have left within a few
//! seconds: measured after a 3 s login flood on 2 threads, RSS 65 MB → 26 MB 4 s later.
use std::sync::atomic::{fence, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(pub String);

/// The queue is full: the caller should be refused at once (503, `Retry-After`).
#[derive(Debug, thiserror::Error)]
#[error("password hashing queue is full")]
pub struct Busy;

/// Decrements the count of callers when one leaves, also when its future is dropped.
struct Admitted<'a>(&'a AtomicUsize);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// A bounded set of hashing threads; cheap to clone.
#[derive(Clone)]
pub struct HashThreads(Arc<Inner>);

struct Inner {
    limit: usize,
    /// Most callers waiting for a thread (beyond the `limit` running).
    waiting_limit: usize,
    /// Callers running or waiting.
    admitted: AtomicUsize,
    idle: Duration,
    /// Frees what the calling thread holds; true if there was something.
    release: fn() -> bool,
    live: AtomicUsize,
    /// Callers waiting for a free thread (the queue depth `/metrics` shows).
    waiting: AtomicUsize,
    permits: Semaphore,
    jobs: SyncSender<Job>,
    queue: Mutex<Receiver<Job>>,
}

impl HashThreads {
    /// At most `limit` threads, and `queue` callers waiting for one.
    pub fn new(limit: usize, queue: usize, idle: Duration, release: fn() -> bool) -> Self {
        let limit = limit.max(1);
        let (jobs, receiver) = sync_channel(limit);
        HashThreads(Arc::new(Inner {
            limit,
            waiting_limit: queue,
            admitted: AtomicUsize::new(0),
            idle,
            release,
            live: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            permits: Semaphore::new(limit),
            jobs,
            queue: Mutex::new(receiver),
        }))
    }

    /// Runs `work` on a hashing thread, waiting for a free one; refused at once with
    /// [`Busy`] when `limit` are running and `queue` already wait, so a login flood costs
    /// neither memory nor latency beyond the queue.
    pub async fn try_run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Result<T, HashError>, Busy> {
        let before = self.0.admitted.fetch_add(1, SeqCst);
        let _admitted = Admitted(&self.0.admitted);
        if before >= self.0.limit + self.0.waiting_limit {
            return Err(Busy);
        }
        Ok(self.run(work).await)
    }

    /// Runs `work` on a hashing thread, waiting for a free one (however many wait).
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let waiting = Waiting::enter(&self.0.waiting);
        let _permit = self
            .0
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        drop(waiting);
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.0
            .jobs
            .send(job)
            .map_err(|e| HashError(e.to_string()))?;
        self.start_thread_if_short();
        result.await.map_err(|e| HashError(e.to_string()))
    }

    /// Callers hashing or waiting now (the queue depth, for metrics).
    pub fn admitted(&self) -> usize {
        self.0.admitted.load(SeqCst)
    }

    /// How many hashing threads are running.
    pub fn live(&self) -> usize {
        self.0.live.load(SeqCst)
    }

    /// How many callers wait for a free hashing thread.
    pub fn waiting(&self) -> usize {
        self.0.waiting.load(SeqCst)
    }

    /// How many hashes are being computed now.
    pub fn busy(&self) -> usize {
        self.0.limit - self.0.permits.available_permits().min(self.0.limit)
    }

    fn start_thread_if_short(&self) {
        // Pairs with the fence in `retire`: either this sees the retiring thread's decrement
        // and starts a thread, or that thread's last look at the queue sees the job just sent.
        fence(SeqCst);
        let live = self.0.live.load(SeqCst);
        if live >= self.0.limit
            || self
                .0
                .live
                .compare_exchange(live, live + 1, SeqCst, SeqCst)
                .is_err()
        {
            return;
        }
        let inner = self.0.clone();
        let spawned = std::thread::Builder::new()
            .name("argon2".into())
            .spawn(move || work_loop(&inner));
        if let Err(e) = spawned {
            self.0.live.fetch_sub(1, SeqCst);
            tracing::error!(error = %e, "cannot start a password-hashing thread");
        }
    }
}

/// Counts a caller as waiting until dropped, also when its request is cancelled meanwhile.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

fn work_loop(inner: &Inner) {
    loop {
        let next = match inner.queue.lock() {
            Ok(queue) => queue.recv_timeout(inner.idle),
            Err(_) => return,
        };
        match next {
            Ok(job) => run_job(job),
            Err(RecvTimeoutError::Timeout) if (inner.release)() => {}
            Err(RecvTimeoutError::Timeout) => {
                if retire(inner) {
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// A panicking job fails only its own request (its caller sees the dropped reply); the
/// thread, and the count of live threads, carry on.
fn run_job(job: Job) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
        tracing::error!("a password-hashing job panicked");
    }
}

/// Leaves the set, unless a job arrived meanwhile (then it is run and the thread stays).
fn retire(inner: &Inner) -> bool {
    inner.live.fetch_sub(1, SeqCst);
    fence(SeqCst);
    let last_look = match inner.queue.lock() {
        Ok(queue) => queue.try_recv(),
        Err(_) => Err(TryRecvError::Disconnected),
    };
    match last_look {
        Ok(job) => {
            inner.live.fetch_add(1, SeqCst);
            run_job(job);
            false
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing_held() -> bool {
        false
    }

    #[tokio::test]
    async fn threads_start_on_demand_leave_when_idle_and_come_back() {
        let threads = HashThreads::new(2, 64, Duration::from_millis(50), nothing_held);
        assert_eq!(threads.live(), 0);
        let results = futures::future::join_all((0..8).map(|i| threads.run(move || i * 2))).await;
        let results: Vec<i32> = results.into_iter().map(|r| r.expect("ran")).collect();
        assert_eq!(results, (0..8).map(|i| i * 2).collect::<Vec<_>>());
        assert!((1..=2).contains(&threads.live()), "{}", threads.live());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(threads.live(), 0, "idle threads leave");
        assert_eq!(threads.run(|| "again").await.expect("ran"), "again");
        assert_eq!(threads.live(), 1);
    }

    #[tokio::test]
    async fn callers_beyond_the_limit_are_counted_as_waiting() {
        let threads = HashThreads::new(1, 64, Duration::from_secs(10), nothing_held);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let threads = threads.clone();
            async move { threads.run(move || hold.recv().is_ok()).await }
        });
        let second = tokio::spawn({
            let threads = threads.clone();
            async move { threads.run(|| true).await }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while threads.waiting() != 1 || threads.busy() != 1 {
            assert!(std::time::Instant::now() < deadline, "never queued");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        release.send(()).expect("job alive");
        assert!(first.await.expect("joined").expect("ran"));
        assert!(second.await.expect("joined").expect("ran"));
        assert_eq!((threads.waiting(), threads.busy()), (0, 0));
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone() {
        let threads = HashThreads::new(1, 64, Duration::from_secs(10), nothing_held);
        assert!(threads.run(|| panic!("boom")).await.is_err());
        let next = tokio::time::timeout(Duration::from_secs(2), threads.run(|| 7)).await;
        assert_eq!(next.expect("no hang").expect("ran"), 7);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_admits_again_when_it_drains() {
        let threads = HashThreads::new(1, 1, Duration::from_secs(10), nothing_held);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Mutex::new(gate);
        let gate = Arc::new(gate);
        let hold = |gate: Arc<Mutex<std::sync::mpsc::Receiver<()>>>| {
            move || {
                let _ = gate.lock().map(|g| g.recv());
            }
        };
        let running = tokio::spawn({
            let t = threads.clone();
            let g = gate.clone();
            async move { t.try_run(hold(g)).await.is_ok() }
        });
        let waiting = tokio::spawn({
            let t = threads.clone();
            let g = gate.clone();
            async move { t.try_run(hold(g)).await.is_ok() }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            threads.try_run(|| ()).await.is_err(),
            "one running, one waiting: full"
        );
        release.send(()).expect("send");
        release.send(()).expect("send");
        assert!(running.await.expect("join") && waiting.await.expect("join"));
        assert!(threads.try_run(|| 3).await.is_ok());
    }
}
