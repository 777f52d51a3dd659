//! flowbench: the parts of Tessera's benchmark that wrk cannot drive, and its report.
//!
//! ```text
//! flowbench seed   TARGET --count N            N code flows in one session; prints N refresh tokens
//! flowbench flows  TARGET --duration S --concurrency C [--pid P] --out FILE   SSO code flows (authorize + token)
//! flowbench logins TARGET --duration S --concurrency C [--pid P] --out FILE   password logins (Tessera only)
//! flowbench race   TARGET --token T --concurrency C --out FILE      one refresh token, C at once
//! flowbench argon2 --hash PHC [--iterations N] --out FILE           time of one password check
//! flowbench report --results DIR --out FILE                          table, ratios, targets
//! TARGET = --provider tessera|reference --base URL --client-id ID --client-secret S
//!          --redirect-uri URI --scope SCOPE --username U --password P
//! --pid P: the server's process id, for its peak RSS and CPU time during the timed part.
//! ```
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

mod browser;
mod report;

use browser::{Browser, Provider, Target};

/// `--name value` pairs; every flag takes a value.
struct Args(HashMap<String, String>);

impl Args {
    fn parse(raw: &[String]) -> anyhow::Result<Args> {
        let mut map = HashMap::new();
        let mut it = raw.iter();
        while let Some(flag) = it.next() {
            let name = flag
                .strip_prefix("--")
                .with_context(|| format!("unexpected argument {flag}"))?;
            let value = it.next().with_context(|| format!("{flag} needs a value"))?;
            map.insert(name.to_string(), value.clone());
        }
        Ok(Args(map))
    }

    fn get(&self, name: &str) -> anyhow::Result<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .with_context(|| format!("missing --{name}"))
    }

    fn or(&self, name: &str, default: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    fn num(&self, name: &str, default: u64) -> anyhow::Result<u64> {
        match self.0.get(name) {
            Some(v) => v
                .parse()
                .with_context(|| format!("--{name} must be a number")),
            None => Ok(default),
        }
    }

    fn target(&self) -> anyhow::Result<Arc<Target>> {
        let provider = match self.or("provider", "tessera").as_str() {
            "tessera" => Provider::Tessera,
            "reference" => Provider::Reference,
            other => bail!("unknown provider {other}"),
        };
        Ok(Arc::new(Target {
            provider,
            base: self.get("base")?.parse()?,
            client_id: self.get("client-id")?.to_string(),
            client_secret: self.get("client-secret")?.to_string(),
            redirect_uri: self.or("redirect-uri", "http://127.0.0.1/cb"),
            scope: self.or("scope", "openid"),
            username: self.or("username", "bench"),
            password: self.or("password", "bench-password"),
        }))
    }
}

/// Latencies of completed operations, in microseconds.
#[derive(Default)]
struct Samples {
    micros: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn error(&mut self, e: anyhow::Error) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{e:#}"));
        }
    }

    /// The same shape as bench/lua/report.lua writes for wrk.
    fn summary(mut self, elapsed: Duration, concurrency: u64) -> Value {
        self.micros.sort_unstable();
        let pct = |p: f64| -> f64 {
            if self.micros.is_empty() {
                return 0.0;
            }
            let rank = ((p / 100.0) * self.micros.len() as f64).ceil() as usize;
            self.micros[rank.clamp(1, self.micros.len()) - 1] as f64 / 1000.0
        };
        let secs = elapsed.as_secs_f64();
        json!({
            "requests": self.micros.len(),
            "duration_s": secs,
            "requests_per_s": self.micros.len() as f64 / secs,
            "p50_ms": pct(50.0),
            "p99_ms": pct(99.0),
            "errors": self.errors,
            "connections": concurrency,
            "first_error": self.first_error,
        })
    }
}

fn write_out(args: &Args, value: &Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    match args.0.get("out") {
        Some(path) => {
            std::fs::write(path, text + "\n").with_context(|| format!("cannot write {path}"))
        }
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

/// Logs in through the pages once, then `count` SSO flows; prints each refresh token.
async fn seed(args: &Args) -> anyhow::Result<()> {
    let mut browser = Browser::new(args.target()?)?;
    for i in 0..args.num("count", 8)? {
        let authorized = browser
            .authorize(&[])
            .await
            .with_context(|| format!("seed flow {i}"))?;
        let tokens = browser.redeem(&authorized).await?;
        let refresh = tokens
            .get("refresh_token")
            .and_then(Value::as_str)
            .context("no refresh_token issued")?;
        println!("{refresh}");
    }
    Ok(())
}

/// Runs `op` on `concurrency` browsers (each logged in first, untimed) until `duration` ends.
async fn drive<F, Fut>(args: &Args, op: F) -> anyhow::Result<Value>
where
    F: Fn(Browser) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = (Browser, anyhow::Result<()>)> + 'static,
{
    let target = args.target()?;
    let concurrency = args.num("concurrency", 8)?;
    let duration = Duration::from_secs_f64(args.or("duration", "8").parse()?);
    let mut browsers = Vec::new();
    for _ in 0..concurrency {
        let mut browser = Browser::new(target.clone())?;
        let authorized = browser
            .authorize(&[])
            .await
            .context("the first login through the pages failed")?;
        browser.redeem(&authorized).await?;
        browsers.push(browser);
    }
    // The logins above are setup: server memory and CPU are measured from here on.
    let server = args.0.get("pid").map(|p| ServerProbe::start(p.clone()));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for browser in browsers {
        let op = op.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut samples = Samples::default();
            let mut browser = browser;
            while Instant::now() < deadline {
                let began = Instant::now();
                let (b, result) = op(browser).await;
                browser = b;
                match result {
                    Ok(()) => samples.micros.push(began.elapsed().as_micros() as u64),
                    Err(e) => {
                        samples.error(e);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
            samples
        }));
    }
    let mut all = Samples::default();
    for task in tasks {
        all.merge(task.await?);
    }
    let mut summary = all.summary(start.elapsed(), concurrency);
    if let (Some(server), Some(obj)) = (server, summary.as_object_mut()) {
        let (peak_kb, cpu_s) = server.finish().await;
        obj.insert("peak_rss_kb".into(), json!(peak_kb));
        obj.insert("server_cpu_s".into(), json!(cpu_s));
    }
    Ok(summary)
}

/// The server process seen through /proc while a scenario runs: peak RSS (the kernel's
/// high-water mark after a reset, and a 100 ms poll of VmRSS) and CPU time used.
struct ServerProbe {
    pid: String,
    cpu_at_start: Option<f64>,
    sampler: tokio::task::JoinHandle<u64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

fn proc_status_kb(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime in seconds (clock ticks of 1/100 s, as on every Linux target).
fn proc_cpu_s(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

impl ServerProbe {
    fn start(pid: String) -> ServerProbe {
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, s) = (pid.clone(), stop.clone());
        let sampler = tokio::task::spawn_local(async move {
            let mut max = 0;
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                max = max.max(proc_status_kb(&p, "VmRSS:").unwrap_or(0));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            max
        });
        ServerProbe {
            cpu_at_start: proc_cpu_s(&pid),
            pid,
            sampler,
            stop,
        }
    }

    async fn finish(self) -> (Option<u64>, Option<f64>) {
        let cpu = proc_cpu_s(&self.pid)
            .zip(self.cpu_at_start)
            .map(|(end, start)| end - start);
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let polled = self.sampler.await.unwrap_or(0);
        let peak = polled.max(proc_status_kb(&self.pid, "VmHWM:").unwrap_or(0));
        (Some(peak).filter(|kb| *kb > 0), cpu)
    }
}

async fn flows(args: &Args) -> anyhow::Result<()> {
    let summary = drive(args, |mut browser: Browser| async move {
        let result = async {
            let authorized = browser.authorize(&[]).await?;
            browser.redeem(&authorized).await.map(|_| ())
        }
        .await;
        (browser, result)
    })
    .await?;
    write_out(args, &summary)
}

async fn logins(args: &Args) -> anyhow::Result<()> {
    if args.target()?.provider != Provider::Tessera {
        bail!("the login flood drives Tessera's login form only");
    }
    let summary = drive(args, |mut browser: Browser| async move {
        let result = browser.tessera_login().await;
        (browser, result)
    })
    .await?;
    write_out(args, &summary)
}

/// Presents one refresh token `concurrency` times at once: rotation must let exactly one win.
async fn race(args: &Args) -> anyhow::Result<()> {
    let target = args.target()?;
    let token = args.get("token")?.to_string();
    let concurrency = args.num("concurrency", 8)?;
    let barrier = Arc::new(tokio::sync::Barrier::new(concurrency as usize));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (target, token, barrier) = (target.clone(), token.clone(), barrier.clone());
        tasks.push(tokio::task::spawn_local(async move {
            let http = reqwest::Client::new();
            let request = http
                .post(target.token_url()?)
                .basic_auth(&target.client_id, Some(&target.client_secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ]);
            barrier.wait().await;
            anyhow::Ok(request.send().await?.status().as_u16())
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await??);
    }
    let winners = statuses.iter().filter(|s| **s == 200).count();
    write_out(
        args,
        &json!({ "attempts": concurrency, "successes": winners, "statuses": statuses, "one_winner": winners == 1 }),
    )
}

/// Median time of one argon2 verification with the parameters stored in `--hash`: the cost
/// the server pays per password login.
fn argon2_time(args: &Args) -> anyhow::Result<()> {
    use argon2::{Argon2, PasswordVerifier};
    let hash = args.get("hash")?.to_string();
    let iterations = args.num("iterations", 8)?.max(1);
    let mut times = Vec::new();
    for _ in 0..iterations {
        let began = Instant::now();
        let ok = Argon2::default()
            .verify_password(b"not-the-password", hash.as_str())
            .is_ok();
        times.push(began.elapsed().as_secs_f64());
        if ok {
            bail!("the wrong password verified");
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let fastest = times[0];
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let params = hash.split('$').nth(3).unwrap_or_default().to_string();
    write_out(
        args,
        &json!({
            "hash_ms": median * 1000.0,
            "fastest_hash_ms": fastest * 1000.0,
            "iterations": iterations,
            "params": params,
            "cores": cores,
            "limit_per_s": cores as f64 / median,
        }),
    )
}

fn main() -> std::process::ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = raw.split_first() else {
        eprintln!("usage: flowbench seed|flows|logins|race|argon2|report [--flag value]...");
        return std::process::ExitCode::from(2);
    };
    let result = Args::parse(rest).and_then(|args| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let local = tokio::task::LocalSet::new();
        match command.as_str() {
            "seed" => local.block_on(&runtime, seed(&args)),
            "flows" => local.block_on(&runtime, flows(&args)),
            "logins" => local.block_on(&runtime, logins(&args)),
            "race" => local.block_on(&runtime, race(&args)),
            "argon2" => argon2_time(&args),
            "report" => report::run(
                std::path::Path::new(args.get("results")?),
                args.0.get("out").map(Into::into),
            ),
            other => bail!("unknown command {other}"),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flowbench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
