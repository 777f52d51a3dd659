//! An example API protected by Tessera (see README "Example resource server"):
//!
//! ```text
//! TESSERA_ISSUER=http://127.0.0.1:8080 RS_AUDIENCE=https://api.example.com \
//! RS_CLIENT_ID=... RS_CLIENT_SECRET=... cargo run --example resource_server
//! # TESSERA_ROLES_CLAIM: the roles claim's name, as the server was configured (default roles)
//! ```
mod app;

use std::error::Error;

fn env(name: &str, default: Option<&str>) -> Result<String, Box<dyn Error>> {
    match (std::env::var(name), default) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(default)) => Ok(default.to_string()),
        (Err(_), None) => Err(format!("set {name}").into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let config = app::Config {
        issuer: env("TESSERA_ISSUER", Some("http://127.0.0.1:8080"))?,
        audience: env("RS_AUDIENCE", Some("https://api.example.com"))?,
        client_id: env("RS_CLIENT_ID", None)?,
        client_secret: env("RS_CLIENT_SECRET", None)?,
        roles_claim: env("TESSERA_ROLES_CLAIM", Some("roles"))?,
    };
    let listen = env("RS_LISTEN", Some("127.0.0.1:3000"))?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!(
        "Example API on http://{listen} (GET /me, GET /admin), trusting {}",
        config.issuer
    );
    axum::serve(listener, app::router(app::Verifier::new(config))).await?;
    Ok(())
}
