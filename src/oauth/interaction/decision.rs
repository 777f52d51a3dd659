//! What happens next with an authorization request: a pure function of the request, who is
//! logged in, what they already granted, their organizations, and the time. Every prompt
//! and organization rule lives here.
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

/// What the decision needs to know about organizations (gathered by `proceed`).
#[derive(Clone, Debug, Default)]
pub struct OrgState {
    /// The organization the client is restricted to (its id).
    pub client_org: Option<String>,
    /// The organization the request names, resolved: None if it names none, `Some(None)`
    /// if it names one that does not exist.
    pub requested: Option<Option<String>>,
    /// The ids of the organizations the logged-in user belongs to.
    pub memberships: Vec<String>,
}

/// The outcome of [`decide`]; the handlers only render it.
#[derive(Clone, Debug)]
pub enum Next {
    /// Show the login page.
    Login,
    /// Show the organization selection page.
    SelectOrganization,
    /// Show the consent page.
    Consent,
    /// Show the account page (an account sign-in is done).
    Account,
    /// Issue the authorization code, for this organization (its id) if any.
    Issue { organization: Option<String> },
    /// Send this error back to the client.
    Fail(OAuthError),
}

/// OIDC Core §3.1.2.1 and §3.1.2.6: log in when nobody is (or a disabled user is), when
/// `prompt=login` or `max_age` asks for a fresh login that this request has not had yet;
/// consent when a scope was never granted or `prompt=consent` asks again; with
/// `prompt=none`, either need is an error instead of a page. `login_hint` only fills the
/// login form: it never forces a login. Then the organization ([`organization`]), then
/// consent.
pub fn decide(
    request: &AuthRequest,
    login: Option<LoginState>,
    granted: &Scopes,
    orgs: &OrgState,
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
    let organization = match organization(request, orgs) {
        Ok(organization) => organization,
        Err(next) => return next,
    };
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
    Next::Issue { organization }
}

/// The organization the tokens speak for, decided once the user is known: the one the
/// request names or the client is restricted to — which must agree — and of which the user
/// must be a member; else, with the `organization` scope, the user's only organization, or
/// their choice on the selection page. Every refusal is `access_denied` and reads the same
/// whether or not the organization exists, so the error tells nobody which do.
fn organization(request: &AuthRequest, orgs: &OrgState) -> Result<Option<String>, Next> {
    let denied = |why: &'static str| Err(Next::Fail(OAuthError::new(ErrorCode::AccessDenied, why)));
    if let Some(client_org) = &orgs.client_org {
        let agrees = match &orgs.requested {
            None => true,
            Some(requested) => requested.as_ref() == Some(client_org),
        };
        if !agrees {
            return denied("this application is restricted to another organization");
        }
        return if orgs.memberships.contains(client_org) {
            Ok(Some(client_org.clone()))
        } else {
            denied("the user is not a member of the organization this application is restricted to")
        };
    }
    match &orgs.requested {
        Some(Some(id)) if orgs.memberships.contains(id) => return Ok(Some(id.clone())),
        Some(_) => return denied("the user is not a member of the requested organization"),
        None => {}
    }
    if !Scopes::from_stored(&request.scope).contains(crate::authz::ORGANIZATION_SCOPE) {
        return Ok(None);
    }
    match orgs.memberships.as_slice() {
        [] => denied("the user is not a member of any organization"),
        [only] => Ok(Some(only.clone())),
        _ if request.prompt.none => Err(Next::Fail(OAuthError::new(
            ErrorCode::InteractionRequired,
            "the user must choose an organization",
        ))),
        _ => Err(Next::SelectOrganization),
    }
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
            organization: None,
        }
    }

    #[test]
    fn an_account_sign_in_logs_in_then_shows_the_account() {
        let account = AuthRequest::account_sign_in(NOW);
        assert!(matches!(
            decide(&account, None, &granted(""), &none(), NOW),
            Next::Login
        ));
        let disabled = Some(LoginState {
            auth_time: NOW,
            disabled: true,
        });
        assert!(matches!(
            decide(&account, disabled, &granted(""), &none(), NOW),
            Next::Login
        ));
        assert!(matches!(
            decide(&account, logged_in(10), &granted(""), &none(), NOW),
            Next::Account
        ));
    }

    fn logged_in(seconds_ago: i64) -> Option<LoginState> {
        Some(LoginState {
            auth_time: NOW - seconds_ago,
            disabled: false,
        })
    }

    fn none() -> OrgState {
        OrgState::default()
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
            decide(&request(), None, &granted(""), &none(), NOW),
            Next::Login
        ));
    }

    #[test]
    fn a_session_with_consent_remembered_issues_at_once() {
        let next = decide(
            &request(),
            logged_in(60),
            &granted("openid profile email"),
            &OrgState::default(),
            NOW,
        );
        assert!(matches!(next, Next::Issue { .. }));
    }

    #[test]
    fn a_scope_never_granted_asks_for_consent() {
        let next = decide(&request(), logged_in(60), &granted("openid"), &none(), NOW);
        assert!(matches!(next, Next::Consent));
        // Consent is remembered per scope: once granted it is not asked again.
        let next = decide(
            &request(),
            logged_in(60),
            &granted("openid profile"),
            &none(),
            NOW,
        );
        assert!(matches!(next, Next::Issue { .. }));
    }

    #[test]
    fn prompt_none_turns_each_page_into_its_error() {
        let mut r = request();
        r.prompt.none = true;
        assert_eq!(
            code(&decide(&r, None, &granted(""), &none(), NOW)),
            Some("login_required")
        );
        assert_eq!(
            code(&decide(&r, logged_in(5), &granted("openid"), &none(), NOW)),
            Some("consent_required")
        );
        assert!(matches!(
            decide(&r, logged_in(5), &granted("openid profile"), &none(), NOW),
            Next::Issue { .. }
        ));
    }

    #[test]
    fn prompt_login_asks_again_until_this_request_has_logged_in() {
        let mut r = request();
        r.prompt.login = true;
        let all = granted("openid profile");
        assert!(matches!(
            decide(&r, logged_in(1), &all, &none(), NOW),
            Next::Login
        ));
        r.login_done = true;
        assert!(matches!(
            decide(&r, logged_in(0), &all, &none(), NOW),
            Next::Issue { .. }
        ));
    }

    #[test]
    fn max_age_counts_from_the_last_login() {
        let mut r = request();
        let all = granted("openid profile");
        r.max_age = Some(300);
        assert!(matches!(
            decide(&r, logged_in(300), &all, &none(), NOW),
            Next::Issue { .. }
        ));
        assert!(matches!(
            decide(&r, logged_in(301), &all, &none(), NOW),
            Next::Login
        ));
        r.max_age = Some(0);
        assert!(matches!(
            decide(&r, logged_in(0), &all, &none(), NOW),
            Next::Login
        ));
        r.login_done = true;
        assert!(matches!(
            decide(&r, logged_in(0), &all, &none(), NOW),
            Next::Issue { .. }
        ));
    }

    #[test]
    fn prompt_consent_asks_again_until_this_request_has_consented() {
        let mut r = request();
        r.prompt.consent = true;
        let all = granted("openid profile");
        assert!(matches!(
            decide(&r, logged_in(1), &all, &none(), NOW),
            Next::Consent
        ));
        r.consent_done = true;
        assert!(matches!(
            decide(&r, logged_in(1), &all, &none(), NOW),
            Next::Issue { .. }
        ));
    }

    #[test]
    fn login_hint_never_forces_a_login() {
        let mut r = request();
        r.login_hint = Some("someone-else".into());
        let next = decide(&r, logged_in(1), &granted("openid profile"), &none(), NOW);
        assert!(matches!(next, Next::Issue { .. }));
    }

    #[test]
    fn a_disabled_user_is_logged_out() {
        let mut r = request();
        let disabled = Some(LoginState {
            auth_time: NOW,
            disabled: true,
        });
        let all = granted("openid profile");
        assert!(matches!(
            decide(&r, disabled, &all, &none(), NOW),
            Next::Login
        ));
        r.prompt.none = true;
        assert_eq!(
            code(&decide(&r, disabled, &all, &none(), NOW)),
            Some("login_required")
        );
    }

    fn member_of(ids: &[&str]) -> OrgState {
        OrgState {
            memberships: ids.iter().map(|s| s.to_string()).collect(),
            ..OrgState::default()
        }
    }

    fn issued_for(next: &Next) -> Option<String> {
        match next {
            Next::Issue { organization } => organization.clone(),
            other => panic!("not issued: {other:?}"),
        }
    }

    #[test]
    fn a_requested_organization_needs_a_membership() {
        let all = granted("openid profile");
        let mut orgs = member_of(&["org_a", "org_b"]);
        orgs.requested = Some(Some("org_b".into()));
        let next = decide(&request(), logged_in(1), &all, &orgs, NOW);
        assert_eq!(issued_for(&next).as_deref(), Some("org_b"));
        orgs.requested = Some(Some("org_c".into()));
        let next = decide(&request(), logged_in(1), &all, &orgs, NOW);
        assert_eq!(code(&next), Some("access_denied"));
        // An unknown organization reads the same as one the user is not in.
        orgs.requested = Some(None);
        let unknown = decide(&request(), logged_in(1), &all, &orgs, NOW);
        assert_eq!(code(&unknown), Some("access_denied"));
        let (Next::Fail(a), Next::Fail(b)) = (next, unknown) else {
            unreachable!()
        };
        assert_eq!(a.description, b.description);
        // Nobody logged in: log in first, reveal nothing about the organization.
        assert!(matches!(
            decide(&request(), None, &all, &orgs, NOW),
            Next::Login
        ));
    }

    #[test]
    fn a_restricted_client_speaks_only_for_its_organization() {
        let all = granted("openid profile");
        let mut orgs = member_of(&["org_a", "org_b"]);
        orgs.client_org = Some("org_b".into());
        let next = decide(&request(), logged_in(1), &all, &orgs, NOW);
        assert_eq!(issued_for(&next).as_deref(), Some("org_b"));
        orgs.requested = Some(Some("org_b".into()));
        let next = decide(&request(), logged_in(1), &all, &orgs, NOW);
        assert_eq!(issued_for(&next).as_deref(), Some("org_b"));
        for other in [Some("org_a".to_string()), None] {
            orgs.requested = Some(other);
            let next = decide(&request(), logged_in(1), &all, &orgs, NOW);
            assert_eq!(code(&next), Some("access_denied"));
        }
        let mut outsider = member_of(&["org_a"]);
        outsider.client_org = Some("org_b".into());
        let next = decide(&request(), logged_in(1), &all, &outsider, NOW);
        assert_eq!(code(&next), Some("access_denied"));
    }

    #[test]
    fn the_organization_scope_picks_the_only_one_or_asks() {
        let mut r = request();
        r.scope = "openid organization".into();
        let all = granted("openid organization");
        let next = decide(&r, logged_in(1), &all, &member_of(&["org_a"]), NOW);
        assert_eq!(issued_for(&next).as_deref(), Some("org_a"));
        let two = member_of(&["org_a", "org_b"]);
        assert!(matches!(
            decide(&r, logged_in(1), &all, &two, NOW),
            Next::SelectOrganization
        ));
        assert_eq!(
            code(&decide(&r, logged_in(1), &all, &member_of(&[]), NOW)),
            Some("access_denied")
        );
        r.prompt.none = true;
        assert_eq!(
            code(&decide(&r, logged_in(1), &all, &two, NOW)),
            Some("interaction_required")
        );
        // The choice, once made, is a requested organization like any other.
        r.prompt.none = false;
        let mut chosen = two.clone();
        chosen.requested = Some(Some("org_b".into()));
        let next = decide(&r, logged_in(1), &all, &chosen, NOW);
        assert_eq!(issued_for(&next).as_deref(), Some("org_b"));
    }

    #[test]
    fn without_organizations_nothing_changes() {
        let next = decide(
            &request(),
            logged_in(1),
            &granted("openid profile"),
            &member_of(&["org_a", "org_b"]),
            NOW,
        );
        assert_eq!(issued_for(&next), None);
    }
}
