//! The server's log as the tests see it: every test's server logs into one buffer (at
//! `info`, or the filter in `TEST_LOG`), which tests search by request id; with `TEST_LOG`
//! set the lines are also printed, so a failing test shows what the server said.
use std::io::Write;
use std::sync::{LazyLock, Mutex, Once};

static BUFFER: LazyLock<Mutex<Vec<u8>>> = LazyLock::new(|| Mutex::new(Vec::new()));
static INIT: Once = Once::new();

struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = BUFFER.lock() {
            buffer.extend_from_slice(bytes);
        }
        if std::env::var_os("TEST_LOG").is_some() {
            eprint!("{}", String::from_utf8_lossy(bytes));
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once for the whole test binary.
pub fn init() {
    INIT.call_once(|| {
        let filter = std::env::var("TEST_LOG")
            .ok()
            .filter(|f| !f.is_empty() && f != "1")
            .unwrap_or_else(|| "info,sqlx=warn,sea_orm=warn".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_ansi(false)
            .with_writer(|| Capture)
            .try_init();
    });
}

/// Every log line so far that mentions `needle` (e.g. a request id).
pub fn lines_with(needle: &str) -> Vec<String> {
    let buffer = BUFFER.lock().map(|b| b.clone()).unwrap_or_default();
    String::from_utf8_lossy(&buffer)
        .lines()
        .filter(|line| line.contains(needle))
        .map(str::to_string)
        .collect()
}
