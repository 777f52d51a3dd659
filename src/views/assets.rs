//! The files the pages load, each served at a URL holding a hash of its content so that it
//! can be cached for a year (`immutable`) and still change with a new version or brand:
//! Tessera's stylesheet (with the brand colour's palette appended), the brand's extra
//! stylesheet and its logo. Loaded once at start; no page loads anything from elsewhere.
use std::sync::{Arc, LazyLock};

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::brand::Palette;
use crate::config::Settings;

/// Where the assets are served.
pub const PATH: &str = "/assets/{file}";
/// The largest logo or extra stylesheet accepted.
pub const MAX_FILE_BYTES: u64 = 512 * 1024;
const STYLESHEET: &str = include_str!("../../templates/tessera.css");

/// One served file.
#[derive(Clone, Debug)]
pub struct Asset {
    /// `/assets/NAME-HASH.EXT`
    pub url: String,
    pub content_type: &'static str,
    pub bytes: Bytes,
}

impl Asset {
    fn new(name: &str, ext: &str, content_type: &'static str, bytes: Bytes) -> Asset {
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        let hash: String = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Asset {
            url: format!("/assets/{name}-{hash}.{ext}"),
            content_type,
            bytes,
        }
    }
}

/// The brand and the files every page links to.
#[derive(Debug)]
pub struct Assets {
    pub brand_name: String,
    pub stylesheet: Asset,
    pub extra_css: Option<Asset>,
    pub logo: Option<Asset>,
}

static FALLBACK: LazyLock<Arc<Assets>> = LazyLock::new(|| {
    Arc::new(Assets {
        brand_name: "Tessera".into(),
        stylesheet: Asset::new(
            "tessera",
            "css",
            "text/css; charset=utf-8",
            Bytes::from_static(STYLESHEET.as_bytes()),
        ),
        extra_css: None,
        logo: None,
    })
});

impl Assets {
    /// Reads the brand's files; a refusal names the setting.
    pub fn load(settings: &Settings) -> Result<Assets, String> {
        let mut css = STYLESHEET.to_string();
        if let Some(color) = &settings.brand_color {
            css.push_str(&Palette::for_color(color)?.css());
        }
        let stylesheet = Asset::new("tessera", "css", "text/css; charset=utf-8", css.into());
        let extra_css = match &settings.brand_css {
            Some(path) => Some(Asset::new(
                "brand",
                "css",
                "text/css; charset=utf-8",
                read("TESSERA_BRAND_CSS", path)?,
            )),
            None => None,
        };
        let logo = match &settings.brand_logo {
            Some(path) => {
                let (ext, content_type) = image_type(path).ok_or_else(|| {
                    format!(
                        "TESSERA_BRAND_LOGO must be an .svg, .png, .jpg or .webp file: got {}",
                        path.display()
                    )
                })?;
                Some(Asset::new(
                    "logo",
                    ext,
                    content_type,
                    read("TESSERA_BRAND_LOGO", path)?,
                ))
            }
            None => None,
        };
        Ok(Assets {
            brand_name: settings.brand_name.trim().to_string(),
            stylesheet,
            extra_css,
            logo,
        })
    }

    /// Tessera's own look, for pages rendered outside a request.
    pub fn fallback() -> Arc<Assets> {
        FALLBACK.clone()
    }

    fn find(&self, url: &str) -> Option<&Asset> {
        [
            Some(&self.stylesheet),
            self.extra_css.as_ref(),
            self.logo.as_ref(),
        ]
        .into_iter()
        .flatten()
        .find(|a| a.url == url)
    }
}

fn read(setting: &str, path: &std::path::Path) -> Result<Bytes, String> {
    let refused = |why: String| format!("{setting}={}: {why}", path.display());
    let size = std::fs::metadata(path)
        .map_err(|e| refused(e.to_string()))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(refused(format!(
            "the file has {size} bytes, more than the {MAX_FILE_BYTES} allowed"
        )));
    }
    std::fs::read(path)
        .map(Bytes::from)
        .map_err(|e| refused(e.to_string()))
}

fn image_type(path: &std::path::Path) -> Option<(&'static str, &'static str)> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "svg" => Some(("svg", "image/svg+xml")),
        "png" => Some(("png", "image/png")),
        "jpg" | "jpeg" => Some(("jpg", "image/jpeg")),
        "webp" => Some(("webp", "image/webp")),
        _ => None,
    }
}

/// `GET /assets/{file}`: an asset by its hashed name, cached for a year.
pub async fn serve(
    State(state): State<crate::state::AppState>,
    Path(file): Path<String>,
) -> Response {
    let Some(asset) = state.assets.find(&format!("/assets/{file}")) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"not_found"}"#,
        )
            .into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        asset.bytes.clone(),
    )
        .into_response()
}
