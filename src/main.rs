use tessera::cli;

/// mimalloc returns large freed blocks (argon2's 19 MiB per hash) to the system instead of
/// keeping them in per-thread arenas, and is faster for our many small allocations. Built
/// with `no_thp`: otherwise it asks for transparent huge pages, and every 2 MiB region it
/// touches counts whole (idle RSS 35 MB with them, 22 MB without).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // TESSERA_LOG, else `log` in the config file.
    let filter = cli::config_file::process_setting(&argv, "log")
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| "info,sqlx=warn,sea_orm=warn".into());
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person at a terminal, never into a file or a log collector.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let json = cli::wants_json(&argv);
    match cli::Cli::parse_args(argv) {
        Ok(parsed) => cli::exit_with(cli::run(parsed).await, json),
        Err(error) => cli::usage_error(error, json),
    }
}
