//! What happens next with an authorization request: a pure function of the request, who is
//! logged in, what they already granted, and the time. Every prompt rule lives here.
use super::AuthRequest;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::types::Scopes;

/// The browser's login, as far as the decision needs it.
#[derive(Clone, Copy, Debug)]
pub struct LoginState {
    /// When the user last authenticated (OIDC Core `auth_time`).
    pub auth_time: i64,
    /// The user was disabled since: the login no longer counts.
    pub disabled: bool,
}

/// The outcome of [`decide`]; the handlers only render it.
#[derive(Clone, Debug)]
pub enum Next {
    /// Show the login page.
    Login,
    /// Show the consent page.
    Consent,
    /// Issue the authorization code.
    Issue,
    /// Show the account page (an account sign-in is done).
    Account,
    /// Send this error back to the client.
    Fail(OAuthError),
}

/// OIDC Core §3.1.2.1 and §3.1.2.6: log in when nobody is (or a disabled user is), when
/// `prompt=login` or `max_age` asks for a fresh login that this request has not had yet;
/// consent when a scope was never granted or `prompt=consent` asks again; with
/// `prompt=none`, either need is an error instead of a page. `login_hint` only fills the
/// login form: it never forces a login.
pub fn decide(
    request: &AuthRequest,
    login: Option<LoginState>,
    granted: &Scopes,
    now: i64,
) -> Next {
    let login = login.filter(|l| !l.disabled);
    // OIDC Core §3.1.2.1: max_age=0 is like prompt=login.
    let too_old = |auth_time: i64| {
        request
            .max_age
            .is_some_and(|max| max == 0 || now - auth_time > max)
    };
    let needs_login = match login {
        None => true,
        Some(login) => !request.login_done && (request.prompt.login || too_old(login.auth_time)),
    };
    if needs_login {
        return if request.prompt.none {
            Next::Fail(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user is not logged in",
            ))
        } else {
            Next::Login
        };
    }
    if request.for_account {
        return Next::Account;
    }
    let scope = Scopes::from_stored(&request.scope);
    let needs_consent =
        !scope.is_subset(granted) || (request.prompt.consent && !request.consent_done);
    if needs_consent {
        return if request.prompt.none {
            Next::Fail(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user has not consented",
            ))
        } else {
            Next::Consent
        };
    }
    Next::Issue
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::oauth::interaction::Prompt;

    const NOW: i64 = 1_000_000;

    fn request() -> AuthRequest {
        AuthRequest {
            client_id: "app".into(),
            redirect_uri: "https://app.example/cb".into(),
            scope: "openid profile".into(),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            ui_locales: None,
            created_at: NOW,
            login_done: false,
            consent_done: false,
            for_account: false,
        }
    }

    #[test]
    fn an_account_sign_in_logs_in_then_shows_the_account() {
        let account = AuthRequest::account_sign_in(NOW);
        assert!(matches!(
            decide(&account, None, &granted(""), NOW),
            Next::Login
        ));
        let disabled = Some(LoginState {
            auth_time: NOW,
            disabled: true,
        });
        assert!(matches!(
            decide(&account, disabled, &granted(""), NOW),
            Next::Login
        ));
        assert!(matches!(
            decide(&account, logged_in(10), &granted(""), NOW),
            Next::Account
        ));
    }

    fn logged_in(seconds_ago: i64) -> Option<LoginState> {
        Some(LoginState {
            auth_time: NOW - seconds_ago,
            disabled: false,
        })
    }

    fn granted(scope: &str) -> Scopes {
        Scopes::from_stored(scope)
    }

    fn code(next: &Next) -> Option<&'static str> {
        match next {
            Next::Fail(e) => Some(e.code.as_str()),
            _ => None,
        }
    }

    #[test]
    fn nobody_logged_in_means_login() {
        assert!(matches!(
            decide(&request(), None, &granted(""), NOW),
            Next::Login
        ));
    }

    #[test]
    fn a_session_with_consent_remembered_issues_at_once() {
        let next = decide(
            &request(),
            logged_in(60),
            &granted("openid profile email"),
            NOW,
        );
        assert!(matches!(next, Next::Issue));
    }

    #[test]
    fn a_scope_never_granted_asks_for_consent() {
        let next = decide(&request(), logged_in(60), &granted("openid"), NOW);
        assert!(matches!(next, Next::Consent));
        // Consent is remembered per scope: once granted it is not asked again.
        let next = decide(&request(), logged_in(60), &granted("openid profile"), NOW);
        assert!(matches!(next, Next::Issue));
    }

    #[test]
    fn prompt_none_turns_each_page_into_its_error() {
        let mut r = request();
        r.prompt.none = true;
        assert_eq!(
            code(&decide(&r, None, &granted(""), NOW)),
            Some("login_required")
        );
        assert_eq!(
            code(&decide(&r, logged_in(5), &granted("openid"), NOW)),
            Some("consent_required")
        );
        assert!(matches!(
            decide(&r, logged_in(5), &granted("openid profile"), NOW),
            Next::Issue
        ));
    }

    #[test]
    fn prompt_login_asks_again_until_this_request_has_logged_in() {
        let mut r = request();
        r.prompt.login = true;
        let all = granted("openid profile");
        assert!(matches!(decide(&r, logged_in(1), &all, NOW), Next::Login));
        r.login_done = true;
        assert!(matches!(decide(&r, logged_in(0), &all, NOW), Next::Issue));
    }

    #[test]
    fn max_age_counts_from_the_last_login() {
        let mut r = request();
        let all = granted("openid profile");
        r.max_age = Some(300);
        assert!(matches!(decide(&r, logged_in(300), &all, NOW), Next::Issue));
        assert!(matches!(decide(&r, logged_in(301), &all, NOW), Next::Login));
        r.max_age = Some(0);
        assert!(matches!(decide(&r, logged_in(0), &all, NOW), Next::Login));
        r.login_done = true;
        assert!(matches!(decide(&r, logged_in(0), &all, NOW), Next::Issue));
    }

    #[test]
    fn prompt_consent_asks_again_until_this_request_has_consented() {
        let mut r = request();
        r.prompt.consent = true;
        let all = granted("openid profile");
        assert!(matches!(decide(&r, logged_in(1), &all, NOW), Next::Consent));
        r.consent_done = true;
        assert!(matches!(decide(&r, logged_in(1), &all, NOW), Next::Issue));
    }

    #[test]
    fn login_hint_never_forces_a_login() {
        let mut r = request();
        r.login_hint = Some("someone-else".into());
        let next = decide(&r, logged_in(1), &granted("openid profile"), NOW);
        assert!(matches!(next, Next::Issue));
    }

    #[test]
    fn a_disabled_user_is_logged_out() {
        let mut r = request();
        let disabled = Some(LoginState {
            auth_time: NOW,
            disabled: true,
        });
        let all = granted("openid profile");
        assert!(matches!(decide(&r, disabled, &all, NOW), Next::Login));
        r.prompt.none = true;
        assert_eq!(
            code(&decide(&r, disabled, &all, NOW)),
            Some("login_required")
        );
    }
}
