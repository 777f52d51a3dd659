# Tessera's pages in English: the reference catalog. Every other catalog has exactly these
# keys (a test checks). One key per string; `{ $name }` is an argument.

## Sign-in page
login-title = Sign in
login-to-continue = to continue to { $app }
login-username = Username
login-password = Password
login-submit = Sign in
login-forgot-password = Forgot your password?
login-or = or
login-with = Sign in with { $provider }
login-bad-credentials = The username or password is incorrect.
login-too-many-attempts = Too many failed sign-in attempts. { $seconds ->
    [one] Please wait { $seconds } second, then try again.
   *[other] Please wait { $seconds } seconds, then try again.
}

## Consent page
consent-title = Allow access
consent-heading = Allow { $app } to access your account?
consent-signed-in-as = You are signed in as { $user }.
consent-about-app = About the app
consent-privacy-policy = Privacy policy
consent-terms = Terms of service
consent-asks = { $app } asks to:
consent-asks-more = { $app } now also asks to:
consent-already-allowed = You already allowed it to:
consent-app-id = App ID:
consent-allow = Allow
consent-deny = Deny

## Scopes, in plain words
scope-openid = Know who you are
scope-openid-desc = Sign you in with your account here.
scope-profile = See your name and username
scope-profile-desc = Your name and username as they are on your account.
scope-email = See your email address
scope-email-desc = Your email address and whether it is verified.
scope-offline_access = Keep access while you are away
scope-offline_access-desc = The app can keep using what you allow here when you are not using it, even after you sign out, until you remove its access.
scope-other-desc = Access that the app defines.

## Sign-out pages
logout-title = Sign out
logout-heading = Sign out?
logout-app-asks = { $app } asks to sign you out.
logout-app-asks-user = { $app } asks to sign you out of { $user }.
logout-question = Do you want to sign out?
logout-question-user = Do you want to sign out of { $user }?
logout-explains = Signing out ends your session in this browser. The apps you used in it lose their access, except those you allowed to keep access while you are away.
logout-confirm = Sign out
logout-stay = Stay signed in
signed-out-title = You are signed out
signed-out-done = Your session in this browser has ended, and the apps you used in it lost their access to your account. Apps you allowed to keep access while you are away keep it. You can close this page.
signed-out-not-signed-in = You were not signed in. You can close this page.
signed-out-stayed-title = You are still signed in
signed-out-stayed = Nothing was changed. You can close this page.

## Error pages: what went wrong, then what to do next
error-detail = Details for the app's developers:
error-back-to-sign-in = Back to sign-in
error-back-to-app = Back to the app
error-try-again = Try again
error-go-back = Go back to the application and try again.
error-not-in-progress-title = This sign-in is no longer in progress
error-not-in-progress = It was already completed or cancelled, it waited too long, or it was started in another browser. Go back to the application and sign in again.
error-plain-http = If this page keeps coming back: open this server at { $issuer }. Over plain http your browser does not keep its sign-in cookie.
error-form-title = The form could not be read
error-form-unreadable = Go back to the application and sign in again.
error-consent-choose = Choose Allow or Deny.
error-stale-form-title = This form can no longer be sent
error-stale-form = It was open for too long, it was already sent, or it came from another site. Nothing was changed. Go back to the application and sign in again.
error-stale-logout-form = It was open for too long, it was already sent, or it came from another site. Nothing was changed. Go back to the application and sign out again.
error-authorize-title = The app's sign-in request cannot be accepted
error-authorize-not-form = The request was not sent as a form. Go back to the application and try again; if it keeps happening, tell the app's developers.
error-authorize-malformed = The request is malformed. Go back to the application and try again; if it keeps happening, tell the app's developers.
error-authorize-no-client = The request does not say which app it comes from. Go back to the application and try again.
error-authorize-unknown-client = The app that sent you here is not registered with this server. Go back to the application; if it keeps happening, tell its developers.
error-authorize-redirect-unregistered = The app asked to send you back to an address it did not register, so you are not sent there. Tell the app's developers.
error-authorize-no-redirect = The request does not say where to send you back. Tell the app's developers.
error-app-gone = The app that sent you here is no longer registered with this server.
error-password-login-off-title = Password sign-in is turned off
error-password-login-off = Use one of the other ways to sign in.
error-busy-title = Too many sign-ins at once
error-busy = The service is busy signing other people in. Please try again in a few seconds.
error-unavailable-title = Temporarily unavailable
error-unavailable = The service cannot complete this right now. Please try again in a moment.
error-internal-title = Something went wrong
error-internal = Something went wrong on our side. Please try again.
error-too-large-title = The request is too large
error-too-slow-title = The request took too long
error-logout-title = This sign-out request cannot be accepted
error-logout-not-form = The request was not sent as a form. Go back to the application and try again.
error-logout-malformed = The request is malformed. Go back to the application and try again.
error-logout-refused = The app's sign-out request does not pass our checks, so nothing was changed. You are still signed in.
error-upstream-bad-callback-title = This sign-in answer cannot be used
error-upstream-bad-callback = It does not belong to a sign-in started in this browser, or it was already used. Go back to the application and sign in again.
error-upstream-unknown-title = This way of signing in is not available
error-upstream-unknown = There is no such sign-in provider here. Use another way to sign in.
error-upstream-removed = This sign-in provider was removed while you were signing in. Use another way to sign in.
error-upstream-error-title = { $provider } could not sign you in
error-upstream-error = The provider reported an error. Try again, or use another way to sign in.
error-upstream-unavailable-title = { $provider } is not available
error-upstream-unavailable = We could not reach { $provider } to sign you in. Try again later, or use another way to sign in.
error-upstream-refused-title = { $provider } did not complete the sign-in
error-upstream-refused = The sign-in could not be completed. Try again.
error-upstream-unverified-title = The sign-in could not be verified
error-upstream-unverified = The answer from { $provider } did not pass our security checks, so you were not signed in. Try again.
error-refused-title = You cannot sign in with this account
error-refused-not-linked = Your { $provider } account is not linked to an account here, and this server does not create accounts on first sign-in. Ask an administrator, or use another way to sign in.
error-refused-disabled = This account is disabled. Ask an administrator.
error-refused-hosted-domain = Only { $domain } accounts may sign in here.
error-refused-ambiguous-email = Several accounts here have this email address, so we cannot tell which one is yours. Ask an administrator.

## Account page
account-login-lead = to continue to your account
account-title = Your account
account-profile = Profile
account-username = Username
account-email = Email
account-email-verified = (verified)
account-email-unverified = (not verified)
account-email-none = none
account-name = Name
account-save-name = Save name
account-name-saved = Your name was saved.
account-name-control = The name may not contain control characters.
account-name-too-long = The name must be at most 200 characters.
account-apps = Connected apps
account-apps-none = No app has access to your account.
account-app-allowed = Allowed { $when } to:
account-remove-app = Remove access
account-remove-app-label = Remove access for { $app }
account-app-not-connected = That app has no access to your account.
account-app-removed = { $app } no longer has access to your account. It must ask again to use it.
account-sessions = Where you are signed in
account-this-browser = This browser
account-session-since = Signed in { $when } from { $ip }
account-unknown-address = an unknown address
account-unknown-browser = An unknown browser
account-sign-out = Sign out
account-sign-out-this = Sign out of this browser
account-sign-out-others = Sign out everywhere else
account-session-already-ended = That session had already ended.
account-signed-out = { $count ->
    [one] Signed out 1 session.
   *[other] Signed out { $count } sessions.
}
account-signed-in-nowhere-else = You were signed in nowhere else.
account-signed-out-others = { $count ->
    [one] Signed out everywhere else (1 session).
   *[other] Signed out everywhere else ({ $count } sessions).
}
account-password = Change password
account-current-password = Current password
account-new-password = New password
account-new-password-hint = At least 8 characters. Your other sessions will be signed out.
account-new-password-again = New password again
account-change-password = Change password
account-password-none = This account has no password: it signs in through a linked provider.
account-password-wrong-current = The current password is incorrect.
account-password-mismatch = The two new passwords differ. Type the same new password twice.
account-password-same = The new password is the same as the current one.
account-password-too-short = The new password must be at least 8 characters.
account-password-too-long = The new password must be at most 1024 bytes.
account-password-too-many-attempts = Too many wrong passwords. { $seconds ->
    [one] Please wait { $seconds } second, then try again.
   *[other] Please wait { $seconds } seconds, then try again.
}
account-busy = The service is busy. Please try again in a few seconds.
account-password-changed-meanwhile = Your password was changed meanwhile. Sign in again if you need to, then retry.
account-password-changed = Your password was changed.
account-password-changed-others = { $count ->
    [one] Your password was changed, and your 1 other session was signed out.
   *[other] Your password was changed, and your { $count } other sessions were signed out.
}
account-identities = Linked sign-in providers
account-identities-none = No provider is linked to your account.
account-identity-linked = linked { $when }
account-unlink = Unlink
account-unlink-label = Unlink { $provider }
account-unlinked = { $provider } is no longer linked to your account.
account-unlink-not-linked = That sign-in provider is not linked to your account.
account-unlink-last-way = This is the only way you can sign in: set a password or link another provider before unlinking it.
account-form-unreadable = Go back to your account page and try again.

organization-title = Choose an organization
organization-lead = { $app } asks which organization you are signing in for.
error-organization-choose = Choose one of the organizations listed.
consent-for-organization = This sign-in is for the organization { $organization }
scope-roles = See your roles
scope-roles-desc = The roles you hold, so the app can decide what you may do.
scope-groups = See your groups
scope-groups-desc = The groups you belong to.
scope-organization = Know your organization
scope-organization-desc = Which organization you sign in for.

account-api-keys = API keys
account-api-keys-lead = Keys let your scripts act for you without a browser. Each has a fixed scope and expires; revoke one you no longer need.
account-api-keys-none = You have no API keys.
account-api-key-created = made { $when }
account-api-key-expires = expires { $when }
account-api-key-last-used = last used { $when }
account-api-key-scope = Scope: { $scope }
account-api-key-revoke = Revoke
account-api-key-revoke-label = Revoke the key { $name }
account-api-key-name = Name of a new key
account-api-key-scopes = Scopes (separated by spaces, optional)
account-api-key-scopes-hint = What the key may be used for, for example api:read. Leave empty for none.
account-api-key-lifetime = Expires after
account-api-key-days = { $days ->
    [one] { $days } day
   *[other] { $days } days
}
account-api-key-create = Create key
account-api-key-bad-name = Give the key a name.
account-api-key-bad-scope = The scopes could not be read: separate them with spaces.
account-api-key-bad-lifetime = Choose one of the lifetimes offered.
account-api-key-refused = The key could not be made: check its name (at most 100 characters) and scopes (openid and offline_access are not for keys).
account-api-key-not-found = That key is not one of yours, or it was already revoked.
account-api-key-revoked = The key { $name } was revoked. Scripts using it are refused from now on.
api-key-created-title = Your new API key
api-key-created-lead = The key { $name } was made.
api-key-created-once = Copy it now: it is shown only this once and cannot be shown again.
api-key-created-key = The key
api-key-created-back = Back to your account
