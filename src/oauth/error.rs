//! Protocol errors: one closed set of RFC error codes, rendered in one place — as RFC 6749
//! §5.2 JSON, as an RFC 6750 §3 Bearer challenge, or as an authorization-response redirect
//! (RFC 6749 §4.1.2.1 with RFC 9207 `iss`).
use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, Failure};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedTokenType,
    InvalidScope,
    InvalidTarget,
    AccessDenied,
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    InvalidToken,
    InsufficientScope,
    RequestNotSupported,
    RequestUriNotSupported,
    /// RFC 7591 §3.2.2.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2.
    InvalidClientMetadata,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An OAuth error with a human-readable description (sent) and a detail (logged only: which
/// check refused the request, or the internal cause; fosite's `WithDebug`). Neither carries
/// secrets.
#[derive(Clone, Debug)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    detail: Option<Cow<'static, str>>,
    internal: bool,
    /// Set on a brute-force refusal: answered 429 with this `Retry-After`.
    retry_after: Option<i64>,
}

pub type OAuthResult<T> = Result<T, OAuthError>;

/// Seconds a client is told to wait after a 503.
pub const UNAVAILABLE_RETRY_AFTER: i64 = 5;

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            detail: None,
            internal: false,
            retry_after: None,
        }
    }

    /// Too many failed authentication attempts (`crate::throttle`): 429 with `Retry-After`
    /// and `temporarily_unavailable`, the RFC 6749 code for "try again later".
    pub fn too_many_attempts(retry_after: i64) -> Self {
        let retry_after = retry_after.max(1);
        let mut error = Self::new(
            ErrorCode::TemporarilyUnavailable,
            format!("too many failed attempts; retry in {retry_after} seconds"),
        );
        error.retry_after = Some(retry_after);
        error
    }

    fn status(&self) -> StatusCode {
        match self.retry_after {
            Some(_) => StatusCode::TOO_MANY_REQUESTS,
            None => self.code.status(),
        }
    }

    /// Adds `Retry-After` when this error has one; every 503 has one (RFC 9110 §10.2.3), as
    /// a database outage is usually over within seconds.
    fn add_retry_after(&self, response: &mut Response) {
        let seconds = match self.retry_after {
            Some(seconds) => seconds,
            None if self.status() == StatusCode::SERVICE_UNAVAILABLE => UNAVAILABLE_RETRY_AFTER,
            None => return,
        };
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }

    /// Adds what the log should say about this refusal; the client never sees it.
    pub fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The log-only record of this error, for the trace middleware.
    pub fn failure(&self) -> Failure {
        Failure {
            internal: self.internal,
            code: Some(self.code.as_str()),
            detail: self
                .detail
                .clone()
                .unwrap_or_else(|| self.description.clone()),
        }
    }
    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_scope(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }
    pub fn unauthorized_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, d)
    }
    pub fn invalid_token(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidToken, d)
    }
    /// 503: a dependency (the database) did not answer in time; the client may retry.
    pub fn temporarily_unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable; retry later",
        )
    }

    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }

    fn body(&self) -> String {
        serde_json::json!({ "error": self.code.as_str(), "error_description": self.description })
            .to_string()
    }

    /// RFC 6750 §3: the Bearer challenge for a protected resource (userinfo). A request with
    /// no token at all gets the bare challenge without an error code.
    pub fn into_bearer_response(self, token_present: bool) -> Response {
        let challenge = if !token_present && self.code == ErrorCode::InvalidRequest {
            r#"Bearer realm="tessera""#.to_string()
        } else {
            format!(
                r#"Bearer realm="tessera", error="{}", error_description="{}""#,
                self.code.as_str(),
                self.description.replace(['"', '\\'], "'")
            )
        };
        let status = if token_present || self.code != ErrorCode::InvalidRequest {
            self.status()
        } else {
            StatusCode::UNAUTHORIZED
        };
        let mut response = (status, json_headers(), self.body()).into_response();
        self.failure().attach(&mut response);
        self.add_retry_after(&mut response);
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

fn json_headers() -> [(header::HeaderName, HeaderValue); 3] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// RFC 6749 §5.2 JSON; `invalid_client` is 401 with a Basic challenge (§5.2 allows it for
/// every authentication scheme the server supports).
impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), json_headers(), self.body()).into_response();
        self.failure().attach(&mut response);
        self.add_retry_after(&mut response);
        if self.code == ErrorCode::InvalidClient {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="tessera""#),
            );
        }
        response
    }
}

/// Internal failures become an opaque `server_error` (`temporarily_unavailable`, 503, when the
/// database is unreachable); the cause is kept for the log.
impl From<AppError> for OAuthError {
    fn from(error: AppError) -> Self {
        let mut oauth = if error.is_unavailable() {
            OAuthError::temporarily_unavailable()
        } else {
            OAuthError::server_error()
        }
        .with_detail(error.to_string());
        oauth.internal = true;
        oauth
    }
}

/// RFC 6749 §3.3: a scope value outside the allowed characters.
impl From<crate::types::MalformedScope> for OAuthError {
    fn from(_: crate::types::MalformedScope) -> Self {
        OAuthError::invalid_scope("malformed scope value")
    }
}

impl From<sea_orm::DbErr> for OAuthError {
    fn from(error: sea_orm::DbErr) -> Self {
        OAuthError::from(AppError::from(error))
    }
}

/// The authorization response's error redirect: `error`, `error_description`, `state`, `iss`.
pub fn error_redirect_url(
    redirect_uri: &str,
    error: &OAuthError,
    state: Option<&str>,
    iss: &str,
) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("error", error.code.as_str()),
        ("error_description", &error.description),
    ];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", iss));
    append_query(redirect_uri, &pairs)
}

/// Appends parameters to a URI that may already carry a query (RFC 6749 §3.1.2).
pub fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let encoded = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{encoded}")
}
