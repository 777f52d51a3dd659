//! The pages' languages: one Fluent catalog per language (`locales/*.ftl`, compiled in), and
//! which one a request is answered in.
//!
//! Order of preference: the `ui_locales` of the authorization (or logout) request (OIDC Core
//! §3.1.2.1, kept with the pending request so the pages that follow use it), then the
//! browser's `Accept-Language` (RFC 9110 §12.5.4, q-values), then English. A key missing
//! from a catalog falls back to English; a test keeps every catalog complete.
//!
//! The language of the current request lives in a task-local that [`PagesLayer`] sets
//! around every route, so that error pages made deep in a handler (or by `AppError`, or by
//! the guard) are in the user's language and brand without threading them through every
//! call; a handler that learns the request's `ui_locales` calls [`prefer`].
use std::cell::Cell;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::header;
use axum::response::Response;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use tokio::task::futures::TaskLocalFuture;

use super::assets::Assets;

/// The languages the pages are translated into; English is complete by definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// The BCP 47 tag, as in `<html lang>` and `ui_locales_supported`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The catalog's source text.
    pub fn catalog(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../locales/en.ftl"),
            Lang::De => include_str!("../../locales/de.ftl"),
        }
    }

    /// A language tag we have a catalog for: `de`, `de-CH`, `DE` are German (RFC 4647 lookup
    /// on the primary subtag).
    pub fn matching(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Lang::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }
}

/// OIDC Core §3.1.2.1 `ui_locales`: space-separated tags in order of preference.
pub fn from_ui_locales(value: &str) -> Option<Lang> {
    value.split_ascii_whitespace().find_map(Lang::matching)
}

/// RFC 9110 §12.5.4: the supported language with the highest q-value (first on a tie);
/// `q=0` means "not this one".
pub fn from_accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(Lang, f32)> = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        let Some(lang) = Lang::matching(tag) else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((lang, q));
        }
    }
    best.map(|(lang, _)| lang)
}

struct Catalogs {
    bundles: Vec<(Lang, FluentBundle<FluentResource>)>,
}

static CATALOGS: LazyLock<Catalogs> = LazyLock::new(|| Catalogs {
    bundles: Lang::ALL.into_iter().map(|l| (l, bundle(l))).collect(),
});

/// A catalog's bundle. A syntax error keeps the messages that did parse (the catalog test
/// fails on any error, so none ships).
fn bundle(lang: Lang) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(lang.catalog().to_string()).unwrap_or_else(|(r, _)| r);
    let id = lang.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: names are shown in plain text, and the
    // marks would end up in copied text and in tests.
    bundle.set_use_isolating(false);
    bundle.add_resource_overriding(resource);
    bundle
}

fn bundle_of(lang: Lang) -> Option<&'static FluentBundle<FluentResource>> {
    CATALOGS
        .bundles
        .iter()
        .find(|(l, _)| *l == lang)
        .map(|(_, b)| b)
}

/// The translator a page renders with: `tr.t("key")`, or with arguments `tr.t1(...)`.
#[derive(Clone, Copy, Debug)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The current request's language (English outside a request).
    pub fn current() -> Tr {
        Tr::new(current_lang())
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        for lang in [self.lang, Lang::En] {
            let Some(bundle) = bundle_of(lang) else {
                continue;
            };
            if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                let mut errors = vec![];
                return bundle
                    .format_pattern(pattern, args, &mut errors)
                    .into_owned();
            }
        }
        key.to_string()
    }

    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// With one argument: `{ $name }` in the message.
    pub fn t1(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        self.ta(key, &[(name, value.to_string())])
    }

    /// With a number argument (plurals select on it).
    pub fn tn(&self, key: &str, name: &str, value: i64) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_string(), FluentValue::from(value));
        self.format(key, Some(&args))
    }

    pub fn ta(&self, key: &str, pairs: &[(&str, String)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in pairs {
            args.set(name.to_string(), FluentValue::from(value.clone()));
        }
        self.format(key, Some(&args))
    }
}

/// What the current request renders pages with.
pub struct Current {
    accept_language: Option<Lang>,
    ui_locales: Cell<Option<Lang>>,
    assets: Arc<Assets>,
}

tokio::task_local! {
    static CURRENT: Current;
}

fn current_lang() -> Lang {
    CURRENT
        .try_with(|c| c.ui_locales.get().or(c.accept_language))
        .ok()
        .flatten()
        .unwrap_or(Lang::En)
}

/// The current request's assets (the default ones outside a request).
pub fn current_assets() -> Arc<Assets> {
    CURRENT
        .try_with(|c| c.assets.clone())
        .unwrap_or_else(|_| Assets::fallback())
}

/// The request's `ui_locales` (if it names a language we have) outranks `Accept-Language`
/// for every page rendered from now on in this request.
pub fn prefer(ui_locales: Option<&str>) {
    if let Some(lang) = ui_locales.and_then(from_ui_locales) {
        let _ = CURRENT.try_with(|c| c.ui_locales.set(Some(lang)));
    }
}

/// The layer around every route: the browser's language and the assets, for the pages.
/// Hand-written rather than `middleware::from_fn`, which boxes the future and clones the
/// inner service per request (see `telemetry/http.rs`): it is on every request, `/token`
/// included, where it costs one header lookup.
#[derive(Clone)]
pub struct PagesLayer(Arc<Assets>);

impl PagesLayer {
    pub fn new(assets: Arc<Assets>) -> PagesLayer {
        PagesLayer(assets)
    }
}

impl<S> tower::Layer<S> for PagesLayer {
    type Service = Pages<S>;

    fn layer(&self, inner: S) -> Pages<S> {
        Pages {
            inner,
            assets: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Pages<S> {
    inner: S,
    assets: Arc<Assets>,
}

impl<S> tower::Service<Request> for Pages<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TaskLocalFuture<Current, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let accept_language = request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(from_accept_language);
        let current = Current {
            accept_language,
            ui_locales: Cell::new(None),
            assets: self.assets.clone(),
        };
        CURRENT.scope(current, self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn keys(lang: Lang) -> BTreeSet<String> {
        let resource = match FluentResource::try_new(lang.catalog().to_string()) {
            Ok(resource) => resource,
            Err((_, errors)) => panic!("{} catalog does not parse: {errors:?}", lang.tag()),
        };
        resource
            .entries()
            .filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_catalog_has_exactly_the_keys_of_every_other() {
        let english = keys(Lang::En);
        assert!(english.len() > 50, "{}", english.len());
        for lang in Lang::ALL {
            let other = keys(lang);
            let missing: Vec<_> = english.difference(&other).collect();
            let extra: Vec<_> = other.difference(&english).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, not in en {extra:?}",
                lang.tag()
            );
        }
    }

    /// Every string literal in the templates and sources that looks like a key (a family
    /// of the catalog, such as `login-`, then lower-case words joined by `-`) is a message
    /// of the English catalog: a typo or a key forgotten in en.ftl fails here.
    #[test]
    fn every_key_used_is_in_the_english_catalog() {
        let english = keys(Lang::En);
        let families: BTreeSet<&str> = english.iter().filter_map(|k| k.split('-').next()).collect();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = vec![];
        for dir in ["templates", "src"] {
            collect(&root.join(dir), &mut files);
        }
        let mut used = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for literal in text.split('"').skip(1).step_by(2) {
                let Some((family, rest)) = literal.split_once('-') else {
                    continue;
                };
                let looks_like_key = families.contains(family)
                    && !rest.is_empty()
                    && rest.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
                    });
                if looks_like_key {
                    used += 1;
                    assert!(
                        english.contains(literal),
                        "{}: {literal} is not in en.ftl",
                        file.display()
                    );
                }
            }
        }
        assert!(used > 50, "{used}");
    }

    fn collect(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
                files.push(path);
            }
        }
    }

    #[test]
    fn ui_locales_take_the_first_language_we_have() {
        assert_eq!(from_ui_locales("fr-CA de en"), Some(Lang::De));
        assert_eq!(from_ui_locales("de-CH"), Some(Lang::De));
        assert_eq!(from_ui_locales("fr ja"), None);
        assert_eq!(from_ui_locales(""), None);
    }

    #[test]
    fn accept_language_follows_q_values() {
        assert_eq!(
            from_accept_language("fr;q=0.9, de;q=0.8, en;q=0.7"),
            Some(Lang::De)
        );
        assert_eq!(from_accept_language("en;q=0.5, de-AT"), Some(Lang::De));
        assert_eq!(from_accept_language("de;q=0, en"), Some(Lang::En));
        assert_eq!(from_accept_language("de;q=0"), None);
        assert_eq!(from_accept_language("*"), None);
        assert_eq!(from_accept_language("de;q=bogus, en;q=0.1"), Some(Lang::En));
    }

    #[test]
    fn a_key_missing_from_a_catalog_falls_back_to_english_then_to_the_key() {
        assert_eq!(Tr::new(Lang::De).t("no-such-key"), "no-such-key");
        assert_eq!(Tr::new(Lang::En).t("login-submit"), "Sign in");
        assert_eq!(Tr::new(Lang::De).t("login-submit"), "Anmelden");
    }
}
