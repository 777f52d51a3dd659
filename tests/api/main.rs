//! The one integration-test binary: an in-process server per test on 127.0.0.1:0 with a
//! fresh database (a SQLite file, or a fresh PostgreSQL database when
//! `TESSERA_TEST_POSTGRES_URL` is set), driven by the real `openidconnect` client and a
//! cookie-keeping user agent that fills the HTML forms.
mod access_tokens;
mod account;
mod api_keys;
mod audit;
mod authorization_code;
mod browser;
mod cli;
mod client_jwks;
mod config_file;
mod cors;
mod faults;
mod federation;
mod helpers;
mod hostile_input;
mod identities;
mod instances;
mod keys;
mod logout;
mod logs;
mod malformed;
mod metrics;
mod org_api_keys;
mod organizations;
mod outage;
mod pages;
mod registration;
mod resource_server;
mod resources;
mod roles;
mod throttle;
mod tokens;
mod tracing;
