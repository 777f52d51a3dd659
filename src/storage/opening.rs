//! Opening the database as an operator meets it: a URL that cannot work is refused before
//! anything is tried, and a failure is one line naming the setting, the path or address, and
//! the fix — not the driver's "unable to open database file" or "pool timed out".
use std::path::Path;
use std::time::Duration;

use sea_orm::DbErr;

use super::{connect, migrate, Db};

/// Connects and migrates, or says in one line what is wrong and what to do.
pub async fn open(url: &str, pool_size: Option<u32>) -> Result<Db, String> {
    open_migrated(url, pool_size).await.map(|(db, _)| db)
}

/// [`open`], also returning the names of the migrations it applied (`tessera migrate`).
pub async fn open_migrated(url: &str, pool_size: Option<u32>) -> Result<(Db, Vec<String>), String> {
    check_url(url)?;
    let shown = redact(url);
    let db = match connect(url, pool_size).await {
        Ok(db) => db,
        Err(error) => return Err(explain(url, &shown, &error).await),
    };
    let applied = migrate(&db)
        .await
        .map_err(|e| format!("cannot migrate the database {shown}: {e}"))?;
    Ok((db, applied))
}

/// The URL with its password masked.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Refuses what cannot be a database URL, and a SQLite file whose directory is missing.
pub fn check_url(url: &str) -> Result<(), String> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return Ok(());
        }
        let dir = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(format!(
                "TESSERA_DATABASE_URL is {url}, but the directory {} does not exist: create it (mkdir -p {}) or point the URL at another file",
                dir.display(),
                dir.display()
            ));
        }
        return Ok(());
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(());
    }
    let shown = redact(url);
    Err(format!(
        "TESSERA_DATABASE_URL {shown} is not a database URL: write sqlite://{} for a file, or postgres://USER@HOST/DATABASE",
        shown.split("://").last().unwrap_or(&shown)
    ))
}

/// One line for a failed connection. For PostgreSQL the server is first tried over TCP, so
/// that "nothing listens there" is told apart from a refused login or a missing database.
async fn explain(url: &str, shown: &str, error: &DbErr) -> String {
    let driver = error.to_string();
    if url.starts_with("sqlite:") {
        return format!(
            "cannot open the SQLite database {shown} (TESSERA_DATABASE_URL): {driver}. Check that the file and its directory are writable by this user"
        );
    }
    let parsed = url::Url::parse(url).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "localhost".into());
    let port = parsed.as_ref().and_then(|u| u.port()).unwrap_or(5432);
    let reach = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await;
    match reach {
        Ok(Ok(_)) => format!(
            "PostgreSQL at {host}:{port} refused the connection of {shown} (TESSERA_DATABASE_URL): {driver}. Check the user, password and database name"
        ),
        Ok(Err(e)) => format!(
            "cannot reach PostgreSQL at {host}:{port} (TESSERA_DATABASE_URL {shown}): {e}. Is the server running, and is the URL right?"
        ),
        Err(_) => format!(
            "cannot reach PostgreSQL at {host}:{port} (TESSERA_DATABASE_URL {shown}): no answer within 2 s. Is the server running, and does a firewall let this host in?"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn urls_that_cannot_work_are_refused_with_the_fix() {
        let missing = check_url("sqlite:///nonexistent-dir/sub/t.db").unwrap_err();
        assert!(
            missing.contains("/nonexistent-dir/sub") && missing.contains("mkdir -p"),
            "{missing}"
        );
        let bare = check_url("tessera.db").unwrap_err();
        assert!(bare.contains("sqlite://tessera.db"), "{bare}");
        let password = check_url("mysql://u:secret@h/db").unwrap_err();
        assert!(!password.contains("secret"), "{password}");
        assert!(check_url("sqlite://tessera.db").is_ok());
        assert!(check_url("sqlite::memory:").is_ok());
        assert!(check_url("postgres://postgres@127.0.0.1/test").is_ok());
    }
}
