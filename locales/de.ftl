# Tessera's pages in German. Same keys as en.ftl (a test checks).

## Sign-in page
login-title = Anmelden
login-to-continue = um mit { $app } fortzufahren
login-username = Benutzername
login-password = Passwort
login-submit = Anmelden
login-forgot-password = Passwort vergessen?
login-or = oder
login-with = Mit { $provider } anmelden
login-bad-credentials = Benutzername oder Passwort ist falsch.
login-too-many-attempts = Zu viele fehlgeschlagene Anmeldeversuche. { $seconds ->
    [one] Bitte warten Sie { $seconds } Sekunde und versuchen Sie es dann erneut.
   *[other] Bitte warten Sie { $seconds } Sekunden und versuchen Sie es dann erneut.
}

## Consent page
consent-title = Zugriff erlauben
consent-heading = { $app } Zugriff auf Ihr Konto erlauben?
consent-signed-in-as = Sie sind als { $user } angemeldet.
consent-about-app = Über die App
consent-privacy-policy = Datenschutzerklärung
consent-terms = Nutzungsbedingungen
consent-asks = { $app } möchte:
consent-asks-more = { $app } möchte jetzt zusätzlich:
consent-already-allowed = Bereits erlaubt haben Sie:
consent-app-id = App-ID:
consent-allow = Erlauben
consent-deny = Ablehnen

## Scopes, in plain words
scope-openid = Wissen, wer Sie sind
scope-openid-desc = Sie mit Ihrem Konto hier anmelden.
scope-profile = Ihren Namen und Benutzernamen sehen
scope-profile-desc = Ihr Name und Benutzername, wie sie in Ihrem Konto stehen.
scope-email = Ihre E-Mail-Adresse sehen
scope-email-desc = Ihre E-Mail-Adresse und ob sie bestätigt ist.
scope-offline_access = Zugriff behalten, während Sie weg sind
scope-offline_access-desc = Die App kann das hier Erlaubte weiter nutzen, wenn Sie sie nicht verwenden, auch nach dem Abmelden, bis Sie ihr den Zugriff entziehen.
scope-other-desc = Zugriff, den die App festlegt.

## Sign-out pages
logout-title = Abmelden
logout-heading = Abmelden?
logout-app-asks = { $app } möchte Sie abmelden.
logout-app-asks-user = { $app } möchte Sie von { $user } abmelden.
logout-question = Möchten Sie sich abmelden?
logout-question-user = Möchten Sie sich von { $user } abmelden?
logout-explains = Das Abmelden beendet Ihre Sitzung in diesem Browser. Die Apps, die Sie darin verwendet haben, verlieren ihren Zugriff, außer denen, welchen Sie erlaubt haben, den Zugriff zu behalten, während Sie weg sind.
logout-confirm = Abmelden
logout-stay = Angemeldet bleiben
signed-out-title = Sie sind abgemeldet
signed-out-done = Ihre Sitzung in diesem Browser ist beendet, und die Apps, die Sie darin verwendet haben, haben den Zugriff auf Ihr Konto verloren. Apps, denen Sie erlaubt haben, den Zugriff zu behalten, während Sie weg sind, behalten ihn. Sie können diese Seite schließen.
signed-out-not-signed-in = Sie waren nicht angemeldet. Sie können diese Seite schließen.
signed-out-stayed-title = Sie sind weiterhin angemeldet
signed-out-stayed = Es wurde nichts geändert. Sie können diese Seite schließen.

## Error pages: what went wrong, then what to do next
error-detail = Details für die Entwickler der App:
error-back-to-sign-in = Zurück zur Anmeldung
error-back-to-app = Zurück zur App
error-try-again = Erneut versuchen
error-go-back = Gehen Sie zurück zur Anwendung und versuchen Sie es erneut.
error-not-in-progress-title = Diese Anmeldung läuft nicht mehr
error-not-in-progress = Sie wurde bereits abgeschlossen oder abgebrochen, hat zu lange gewartet oder wurde in einem anderen Browser begonnen. Gehen Sie zurück zur Anwendung und melden Sie sich erneut an.
error-plain-http = Falls diese Seite immer wieder erscheint: Öffnen Sie diesen Server unter { $issuer }. Über einfaches http behält Ihr Browser das Anmelde-Cookie nicht.
error-form-title = Das Formular konnte nicht gelesen werden
error-form-unreadable = Gehen Sie zurück zur Anwendung und melden Sie sich erneut an.
error-consent-choose = Wählen Sie „Erlauben“ oder „Ablehnen“.
error-stale-form-title = Dieses Formular kann nicht mehr gesendet werden
error-stale-form = Es war zu lange geöffnet, wurde bereits gesendet oder kam von einer anderen Website. Es wurde nichts geändert. Gehen Sie zurück zur Anwendung und melden Sie sich erneut an.
error-stale-logout-form = Es war zu lange geöffnet, wurde bereits gesendet oder kam von einer anderen Website. Es wurde nichts geändert. Gehen Sie zurück zur Anwendung und melden Sie sich erneut ab.
error-authorize-title = Die Anmeldeanfrage der App kann nicht angenommen werden
error-authorize-not-form = Die Anfrage wurde nicht als Formular gesendet. Gehen Sie zurück zur Anwendung und versuchen Sie es erneut; falls das wieder passiert, informieren Sie die Entwickler der App.
error-authorize-malformed = Die Anfrage ist fehlerhaft. Gehen Sie zurück zur Anwendung und versuchen Sie es erneut; falls das wieder passiert, informieren Sie die Entwickler der App.
error-authorize-no-client = Die Anfrage sagt nicht, von welcher App sie kommt. Gehen Sie zurück zur Anwendung und versuchen Sie es erneut.
error-authorize-unknown-client = Die App, die Sie hierher geschickt hat, ist bei diesem Server nicht registriert. Gehen Sie zurück zur Anwendung; falls das wieder passiert, informieren Sie ihre Entwickler.
error-authorize-redirect-unregistered = Die App möchte Sie an eine Adresse zurückschicken, die sie nicht registriert hat; deshalb werden Sie nicht dorthin geschickt. Informieren Sie die Entwickler der App.
error-authorize-no-redirect = Die Anfrage sagt nicht, wohin Sie zurückgeschickt werden sollen. Informieren Sie die Entwickler der App.
error-app-gone = Die App, die Sie hierher geschickt hat, ist bei diesem Server nicht mehr registriert.
error-password-login-off-title = Die Anmeldung mit Passwort ist ausgeschaltet
error-password-login-off = Verwenden Sie eine der anderen Anmeldemöglichkeiten.
error-busy-title = Zu viele Anmeldungen gleichzeitig
error-busy = Der Dienst meldet gerade viele andere Personen an. Bitte versuchen Sie es in einigen Sekunden erneut.
error-unavailable-title = Vorübergehend nicht verfügbar
error-unavailable = Der Dienst kann dies gerade nicht abschließen. Bitte versuchen Sie es gleich noch einmal.
error-internal-title = Etwas ist schiefgelaufen
error-internal = Bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es erneut.
error-too-large-title = Die Anfrage ist zu groß
error-too-slow-title = Die Anfrage hat zu lange gedauert
error-logout-title = Diese Abmeldeanfrage kann nicht angenommen werden
error-logout-not-form = Die Anfrage wurde nicht als Formular gesendet. Gehen Sie zurück zur Anwendung und versuchen Sie es erneut.
error-logout-malformed = Die Anfrage ist fehlerhaft. Gehen Sie zurück zur Anwendung und versuchen Sie es erneut.
error-logout-refused = Die Abmeldeanfrage der App besteht unsere Prüfungen nicht; es wurde nichts geändert. Sie sind weiterhin angemeldet.
error-upstream-bad-callback-title = Diese Anmeldeantwort kann nicht verwendet werden
error-upstream-bad-callback = Sie gehört zu keiner in diesem Browser begonnenen Anmeldung oder wurde bereits verwendet. Gehen Sie zurück zur Anwendung und melden Sie sich erneut an.
error-upstream-unknown-title = Diese Anmeldemöglichkeit ist nicht verfügbar
error-upstream-unknown = Diesen Anmeldedienst gibt es hier nicht. Verwenden Sie eine andere Anmeldemöglichkeit.
error-upstream-removed = Dieser Anmeldedienst wurde entfernt, während Sie sich angemeldet haben. Verwenden Sie eine andere Anmeldemöglichkeit.
error-upstream-error-title = { $provider } konnte Sie nicht anmelden
error-upstream-error = Der Anbieter hat einen Fehler gemeldet. Versuchen Sie es erneut oder verwenden Sie eine andere Anmeldemöglichkeit.
error-upstream-unavailable-title = { $provider } ist nicht erreichbar
error-upstream-unavailable = Wir konnten { $provider } nicht erreichen, um Sie anzumelden. Versuchen Sie es später erneut oder verwenden Sie eine andere Anmeldemöglichkeit.
error-upstream-refused-title = { $provider } hat die Anmeldung nicht abgeschlossen
error-upstream-refused = Die Anmeldung konnte nicht abgeschlossen werden. Versuchen Sie es erneut.
error-upstream-unverified-title = Die Anmeldung konnte nicht überprüft werden
error-upstream-unverified = Die Antwort von { $provider } hat unsere Sicherheitsprüfungen nicht bestanden, deshalb wurden Sie nicht angemeldet. Versuchen Sie es erneut.
error-refused-title = Mit diesem Konto können Sie sich nicht anmelden
error-refused-not-linked = Ihr { $provider }-Konto ist mit keinem Konto hier verknüpft, und dieser Server legt bei der ersten Anmeldung keine Konten an. Wenden Sie sich an einen Administrator oder verwenden Sie eine andere Anmeldemöglichkeit.
error-refused-disabled = Dieses Konto ist deaktiviert. Wenden Sie sich an einen Administrator.
error-refused-hosted-domain = Nur Konten von { $domain } dürfen sich hier anmelden.
error-refused-ambiguous-email = Mehrere Konten hier haben diese E-Mail-Adresse, daher können wir nicht erkennen, welches Ihres ist. Wenden Sie sich an einen Administrator.

## Account page
account-login-lead = um zu Ihrem Konto zu gelangen
account-title = Ihr Konto
account-profile = Profil
account-username = Benutzername
account-email = E-Mail
account-email-verified = (bestätigt)
account-email-unverified = (nicht bestätigt)
account-email-none = keine
account-name = Name
account-save-name = Namen speichern
account-name-saved = Ihr Name wurde gespeichert.
account-name-control = Der Name darf keine Steuerzeichen enthalten.
account-name-too-long = Der Name darf höchstens 200 Zeichen lang sein.
account-apps = Verbundene Apps
account-apps-none = Keine App hat Zugriff auf Ihr Konto.
account-app-allowed = Am { $when } erlaubt:
account-remove-app = Zugriff entfernen
account-remove-app-label = Zugriff entfernen: { $app }
account-app-not-connected = Diese App hat keinen Zugriff auf Ihr Konto.
account-app-removed = { $app } hat keinen Zugriff mehr auf Ihr Konto. Die App muss erneut fragen, um es zu nutzen.
account-sessions = Wo Sie angemeldet sind
account-this-browser = Dieser Browser
account-session-since = Angemeldet am { $when } von { $ip }
account-unknown-address = einer unbekannten Adresse
account-unknown-browser = Ein unbekannter Browser
account-sign-out = Abmelden
account-sign-out-this = In diesem Browser abmelden
account-sign-out-others = Überall sonst abmelden
account-session-already-ended = Diese Sitzung war bereits beendet.
account-signed-out = { $count ->
    [one] 1 Sitzung abgemeldet.
   *[other] { $count } Sitzungen abgemeldet.
}
account-signed-in-nowhere-else = Sie waren nirgendwo sonst angemeldet.
account-signed-out-others = { $count ->
    [one] Überall sonst abgemeldet (1 Sitzung).
   *[other] Überall sonst abgemeldet ({ $count } Sitzungen).
}
account-password = Passwort ändern
account-current-password = Aktuelles Passwort
account-new-password = Neues Passwort
account-new-password-hint = Mindestens 8 Zeichen. Ihre anderen Sitzungen werden abgemeldet.
account-new-password-again = Neues Passwort wiederholen
account-change-password = Passwort ändern
account-password-none = Dieses Konto hat kein Passwort: Sie melden sich über einen verknüpften Anbieter an.
account-password-wrong-current = Das aktuelle Passwort ist falsch.
account-password-mismatch = Die beiden neuen Passwörter sind verschieden. Geben Sie zweimal dasselbe neue Passwort ein.
account-password-same = Das neue Passwort ist dasselbe wie das aktuelle.
account-password-too-short = Das neue Passwort muss mindestens 8 Zeichen lang sein.
account-password-too-long = Das neue Passwort darf höchstens 1024 Bytes lang sein.
account-password-too-many-attempts = Zu viele falsche Passwörter. { $seconds ->
    [one] Bitte warten Sie { $seconds } Sekunde und versuchen Sie es dann erneut.
   *[other] Bitte warten Sie { $seconds } Sekunden und versuchen Sie es dann erneut.
}
account-busy = Der Dienst ist ausgelastet. Bitte versuchen Sie es in einigen Sekunden erneut.
account-password-changed-meanwhile = Ihr Passwort wurde inzwischen geändert. Melden Sie sich bei Bedarf erneut an und versuchen Sie es dann noch einmal.
account-password-changed = Ihr Passwort wurde geändert.
account-password-changed-others = { $count ->
    [one] Ihr Passwort wurde geändert, und Ihre 1 andere Sitzung wurde abgemeldet.
   *[other] Ihr Passwort wurde geändert, und Ihre { $count } anderen Sitzungen wurden abgemeldet.
}
account-identities = Verknüpfte Anmeldeanbieter
account-identities-none = Mit Ihrem Konto ist kein Anbieter verknüpft.
account-identity-linked = verknüpft am { $when }
account-unlink = Verknüpfung lösen
account-unlink-label = Verknüpfung lösen: { $provider }
account-unlinked = { $provider } ist nicht mehr mit Ihrem Konto verknüpft.
account-unlink-not-linked = Dieser Anmeldeanbieter ist nicht mit Ihrem Konto verknüpft.
account-unlink-last-way = Dies ist Ihre einzige Möglichkeit, sich anzumelden: Legen Sie ein Passwort fest oder verknüpfen Sie einen weiteren Anbieter, bevor Sie diese Verknüpfung lösen.
account-form-unreadable = Gehen Sie zurück zu Ihrer Kontoseite und versuchen Sie es erneut.

organization-title = Organisation wählen
organization-lead = { $app } fragt, für welche Organisation Sie sich anmelden.
error-organization-choose = Wählen Sie eine der aufgeführten Organisationen.
consent-for-organization = Diese Anmeldung gilt für die Organisation { $organization }
scope-roles = Ihre Rollen sehen
scope-roles-desc = Die Rollen, die Sie innehaben, damit die App entscheiden kann, was Sie dürfen.
scope-groups = Ihre Gruppen sehen
scope-groups-desc = Die Gruppen, denen Sie angehören.
scope-organization = Ihre Organisation kennen
scope-organization-desc = Für welche Organisation Sie sich anmelden.

account-api-keys = API-Schlüssel
account-api-keys-lead = Mit Schlüsseln handeln Ihre Skripte ohne Browser in Ihrem Namen. Jeder hat einen festen Umfang und läuft ab; widerrufen Sie Schlüssel, die Sie nicht mehr brauchen.
account-api-keys-none = Sie haben keine API-Schlüssel.
account-api-key-created = erstellt { $when }
account-api-key-expires = läuft ab { $when }
account-api-key-last-used = zuletzt benutzt { $when }
account-api-key-scope = Umfang: { $scope }
account-api-key-revoke = Widerrufen
account-api-key-revoke-label = Den Schlüssel { $name } widerrufen
account-api-key-name = Name eines neuen Schlüssels
account-api-key-scopes = Scopes (durch Leerzeichen getrennt, optional)
account-api-key-scopes-hint = Wofür der Schlüssel benutzt werden darf, zum Beispiel api:read. Leer lassen für keinen.
account-api-key-lifetime = Läuft ab nach
account-api-key-days = { $days ->
    [one] { $days } Tag
   *[other] { $days } Tagen
}
account-api-key-create = Schlüssel erstellen
account-api-key-bad-name = Geben Sie dem Schlüssel einen Namen.
account-api-key-bad-scope = Die Scopes konnten nicht gelesen werden: Trennen Sie sie durch Leerzeichen.
account-api-key-bad-lifetime = Wählen Sie eine der angebotenen Laufzeiten.
account-api-key-refused = Der Schlüssel konnte nicht erstellt werden: Prüfen Sie den Namen (höchstens 100 Zeichen) und die Scopes (openid und offline_access sind nicht für Schlüssel).
account-api-key-not-found = Dieser Schlüssel gehört nicht Ihnen oder wurde bereits widerrufen.
account-api-key-revoked = Der Schlüssel { $name } wurde widerrufen. Skripte, die ihn benutzen, werden ab jetzt abgewiesen.
api-key-created-title = Ihr neuer API-Schlüssel
api-key-created-lead = Der Schlüssel { $name } wurde erstellt.
api-key-created-once = Kopieren Sie ihn jetzt: Er wird nur dieses eine Mal angezeigt.
api-key-created-key = Der Schlüssel
api-key-created-back = Zurück zu Ihrem Konto
