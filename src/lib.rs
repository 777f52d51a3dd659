//! Tessera: an OAuth 2.0 / OpenID Connect authorization server.
pub mod accounts;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod federation;
pub mod jose;
pub mod oauth;
pub mod sealing;
pub mod secrets;
pub mod server;
pub mod state;
pub mod storage;
pub mod types;
pub mod views;
