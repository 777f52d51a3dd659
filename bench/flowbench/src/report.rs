//! Collects one run's results directory into a table, the ratios against the reference
//! provider, the targets, and `latest.json`.
//!
//! Layout written by bench/run.sh: `meta.json`, and per target (`tessera-sqlite`,
//! `tessera-postgres`, `reference`) a directory with `idle.rss` (kB), `<scenario>.json`
//! (metrics), `<scenario>.rss` (peak kB during the scenario), `argon2.json`, `race.json`.
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{json, Map, Value};

const TARGETS: [&str; 3] = ["tessera-sqlite", "tessera-postgres", "reference"];
const SCENARIOS: [(&str, &str); 9] = [
    ("discovery", "GET discovery"),
    ("jwks", "GET JWKS"),
    ("client_credentials", "POST token client_credentials"),
    ("introspection", "POST introspection (JWT)"),
    ("refresh_1_chain", "POST token refresh, 1 chain"),
    ("refresh_8_chains", "POST token refresh, 8 chains"),
    ("sso_code_flow", "SSO code flow (authorize+token)"),
    ("login_flood", "password logins (POST /login)"),
    ("login_flood_jwks", "GET JWKS during the login flood"),
];

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn read_kb(path: &Path) -> Option<f64> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
}

fn num(value: &Value, key: &str) -> Option<f64> {
    value.get(key).and_then(Value::as_f64)
}

/// A throughput can be compared only if (almost) every request succeeded.
fn comparable(metrics: &Value) -> bool {
    let requests = num(metrics, "requests").unwrap_or(0.0);
    let errors = num(metrics, "errors").unwrap_or(0.0);
    requests > 0.0 && errors <= requests * 0.001
}

fn load_target(dir: &Path) -> Option<Value> {
    if !dir.is_dir() {
        return None;
    }
    let mut scenarios = Map::new();
    for (name, _) in SCENARIOS {
        if let Some(mut metrics) = read_json(&dir.join(format!("{name}.json"))) {
            let peak_kb =
                num(&metrics, "peak_rss_kb").or_else(|| read_kb(&dir.join(format!("{name}.rss"))));
            let cpu_s =
                num(&metrics, "server_cpu_s").or_else(|| read_kb(&dir.join(format!("{name}.cpu"))));
            let requests = num(&metrics, "requests");
            if let Some(obj) = metrics.as_object_mut() {
                if let Some(kb) = peak_kb {
                    obj.insert("peak_rss_mb".into(), json!(kb / 1024.0));
                }
                if let Some(cpu) = cpu_s {
                    obj.insert("server_cpu_s".into(), json!(cpu));
                    // Server CPU per request: what the scenario costs, whatever else ran.
                    if let Some(n) = requests.filter(|n| *n > 0.0) {
                        obj.insert("server_cpu_us_per_request".into(), json!(cpu * 1e6 / n));
                    }
                }
            }
            scenarios.insert(name.into(), metrics);
        }
    }
    Some(json!({
        "idle_rss_mb": read_kb(&dir.join("idle.rss")).map(|kb| kb / 1024.0),
        "argon2": read_json(&dir.join("argon2.json")),
        "refresh_race": read_json(&dir.join("race.json")),
        "notes": std::fs::read_to_string(dir.join("notes")).ok(),
        "scenarios": scenarios,
    }))
}

fn fmt_num(value: Option<f64>, decimals: usize) -> String {
    match value {
        None => "-".into(),
        Some(v) if decimals == 0 => group(v.round() as i64),
        Some(v) => format!("{v:.decimals$}"),
    }
}

fn group(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// The targets for one Tessera run, each with what was measured and whether it holds.
fn check(target: &str, run: &Value, reference: Option<&Value>) -> Vec<Value> {
    let mut out = Vec::new();
    let s = |name: &str| run.get("scenarios").and_then(|v| v.get(name));
    let rps = |name: &str| s(name).and_then(|v| num(v, "requests_per_s"));
    let mut push = |requirement: String, measured: Option<f64>, unit: &str, met: Option<bool>| {
        out.push(json!({
            "target": target,
            "requirement": requirement,
            "measured": measured,
            "unit": unit,
            "met": met,
        }));
    };
    let at_least = |v: Option<f64>, min: f64| v.map(|v| v >= min);
    let below = |v: Option<f64>, max: f64| v.map(|v| v < max);

    let cc = rps("client_credentials");
    push(
        "client_credentials >= 20,000 tokens/s".into(),
        cc,
        "req/s",
        at_least(cc, 20_000.0),
    );
    let cc_ref = reference
        .and_then(|r| r.get("scenarios")?.get("client_credentials"))
        .filter(|v| comparable(v))
        .and_then(|v| num(v, "requests_per_s"));
    let ratio = cc.zip(cc_ref).map(|(a, b)| a / b);
    push(
        "client_credentials >= 4x the reference".into(),
        ratio,
        "x",
        at_least(ratio, 4.0),
    );
    let cc_p99 = s("client_credentials").and_then(|v| num(v, "p99_ms"));
    push(
        "client_credentials p99 < 10 ms at 32 connections".into(),
        cc_p99,
        "ms",
        below(cc_p99, 10.0),
    );
    for name in ["discovery", "jwks"] {
        let v = rps(name);
        push(
            format!("{name} >= 40,000 req/s"),
            v,
            "req/s",
            at_least(v, 40_000.0),
        );
    }
    let intro = rps("introspection");
    push(
        "introspection of a JWT >= 10,000/s".into(),
        intro,
        "req/s",
        at_least(intro, 10_000.0),
    );
    let min = if target.ends_with("postgres") {
        1_500.0
    } else {
        2_000.0
    };
    let refresh = rps("refresh_8_chains");
    let refresh_errors = s("refresh_8_chains").and_then(|v| num(v, "errors"));
    push(
        format!("refresh rotation >= {} /s on 8 chains", group(min as i64)),
        refresh,
        "req/s",
        at_least(refresh, min),
    );
    push(
        "refresh rotation: no failed rotation in 8 chains".into(),
        refresh_errors,
        "errors",
        refresh_errors.map(|e| e == 0.0),
    );
    let race = run
        .get("refresh_race")
        .and_then(|r| r.get("successes"))
        .and_then(Value::as_f64);
    push(
        "refresh rotation: one winner among 8 concurrent uses".into(),
        race,
        "winners",
        race.map(|w| w == 1.0),
    );
    let sso = rps("sso_code_flow");
    push(
        "SSO code flow >= 1,000 flows/s".into(),
        sso,
        "flows/s",
        at_least(sso, 1_000.0),
    );
    let logins = rps("login_flood");
    let limit = run.get("argon2").and_then(|a| num(a, "limit_per_s"));
    let share = logins.zip(limit).map(|(l, m)| l / m);
    push(
        "password logins >= 80% of the argon2 limit".into(),
        share.map(|x| x * 100.0),
        "%",
        at_least(share, 0.8),
    );
    let jwks_p99 = s("login_flood_jwks").and_then(|v| num(v, "p99_ms"));
    push(
        "JWKS p99 < 20 ms during the login flood".into(),
        jwks_p99,
        "ms",
        below(jwks_p99, 20.0),
    );
    let idle = run.get("idle_rss_mb").and_then(Value::as_f64);
    push("idle RSS < 40 MB".into(), idle, "MB", below(idle, 40.0));
    let peak = run
        .get("scenarios")
        .and_then(Value::as_object)
        .and_then(|m| {
            m.values()
                .filter_map(|v| num(v, "peak_rss_mb"))
                .reduce(f64::max)
        });
    push(
        "peak RSS < 100 MB in every scenario".into(),
        peak,
        "MB",
        below(peak, 100.0),
    );
    out
}

pub fn run(dir: &Path, out: Option<PathBuf>) -> anyhow::Result<()> {
    let meta = read_json(&dir.join("meta.json")).unwrap_or(Value::Null);
    let mut results = Map::new();
    for target in TARGETS {
        if let Some(run) = load_target(&dir.join(target)) {
            results.insert(target.into(), run);
        }
    }
    let reference = results.get("reference").cloned();
    let mut ratios = Map::new();
    let mut targets = Vec::new();
    println!();
    for target in TARGETS.iter().filter(|t| t.starts_with("tessera")) {
        let Some(run) = results.get(*target) else {
            continue;
        };
        let mut target_ratios = Map::new();
        println!(
            "{target} (idle RSS {} MB)",
            fmt_num(run.get("idle_rss_mb").and_then(Value::as_f64), 1)
        );
        println!(
            "  {:<34} {:>9} {:>8} {:>8} {:>7} {:>8} {:>8} | {:>9} {:>8} {:>7} {:>8} {:>8} {:>7}",
            "scenario",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "peak MB",
            "cpu us",
            "ref req/s",
            "ref p99",
            "ref err",
            "ref peak",
            "ref cpu",
            "ratio"
        );
        for (name, label) in SCENARIOS {
            let Some(m) = run.get("scenarios").and_then(|s| s.get(name)) else {
                continue;
            };
            let r = reference
                .as_ref()
                .and_then(|r| r.get("scenarios")?.get(name).cloned());
            let ratio = comparable(m)
                .then_some(())
                .and(r.as_ref().filter(|r| comparable(r)))
                .and_then(|r| Some(num(m, "requests_per_s")? / num(r, "requests_per_s")?));
            if let Some(ratio) = ratio {
                target_ratios.insert(name.into(), json!(ratio));
            }
            println!(
                "  {:<34} {:>9} {:>8} {:>8} {:>7} {:>8} {:>8} | {:>9} {:>8} {:>7} {:>8} {:>8} {:>7}",
                label,
                fmt_num(num(m, "requests_per_s"), 0),
                fmt_num(num(m, "p50_ms"), 2),
                fmt_num(num(m, "p99_ms"), 2),
                fmt_num(num(m, "errors"), 0),
                fmt_num(num(m, "peak_rss_mb"), 1),
                fmt_num(num(m, "server_cpu_us_per_request"), 0),
                fmt_num(r.as_ref().and_then(|r| num(r, "requests_per_s")), 0),
                fmt_num(r.as_ref().and_then(|r| num(r, "p99_ms")), 2),
                fmt_num(r.as_ref().and_then(|r| num(r, "errors")), 0),
                fmt_num(r.as_ref().and_then(|r| num(r, "peak_rss_mb")), 1),
                fmt_num(
                    r.as_ref().and_then(|r| num(r, "server_cpu_us_per_request")),
                    0
                ),
                ratio
                    .map(|x| format!("{x:.2}x"))
                    .unwrap_or_else(|| "-".into()),
            );
        }
        if let Some(a) = run.get("argon2").filter(|a| !a.is_null()) {
            println!(
                "  argon2 ({}): {} ms per hash, limit {} logins/s on {} cores",
                a.get("params").and_then(Value::as_str).unwrap_or("?"),
                fmt_num(num(a, "hash_ms"), 1),
                fmt_num(num(a, "limit_per_s"), 1),
                fmt_num(num(a, "cores"), 0)
            );
        }
        ratios.insert((*target).into(), Value::Object(target_ratios));
        targets.extend(check(target, run, reference.as_ref()));
        println!();
    }
    if let Some(r) = &reference {
        println!(
            "reference: node-oidc-provider, in-memory, opaque access tokens (idle RSS {} MB){}",
            fmt_num(r.get("idle_rss_mb").and_then(Value::as_f64), 1),
            r.get("notes")
                .and_then(Value::as_str)
                .map(|n| format!("; {}", n.trim()))
                .unwrap_or_default()
        );
        println!();
    }
    if !targets.is_empty() {
        println!("targets (issue 5):");
        for t in &targets {
            let met = match t.get("met").and_then(Value::as_bool) {
                Some(true) => "met   ",
                Some(false) => "MISSED",
                None => "n/a   ",
            };
            let decimals = if t.get("unit").and_then(Value::as_str) == Some("x") {
                2
            } else {
                1
            };
            println!(
                "  {met} {:<17} {:<55} {} {}",
                t.get("target").and_then(Value::as_str).unwrap_or_default(),
                t.get("requirement")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                fmt_num(t.get("measured").and_then(Value::as_f64), decimals),
                t.get("unit").and_then(Value::as_str).unwrap_or_default(),
            );
        }
    }
    let document = json!({ "meta": meta, "results": results, "ratios_vs_reference": ratios, "targets": targets });
    if let Some(out) = out {
        std::fs::write(&out, serde_json::to_string_pretty(&document)? + "\n")
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!("\nwrote {}", out.display());
    }
    Ok(())
}
