//! Static files, embedded in the binary so that a `cargo build` is all a
//! deployment needs (no npm, no files beside the executable).
//!
//! The vendored libraries keep their version in the file name, so they can be
//! cached for a long time; our own CSS and JS get a short cache lifetime.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::extract::ApiPath;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $content_type:literal) => {
        Asset {
            path: $path,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../static/", $path)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("css/atalaya.css", "text/css; charset=utf-8"),
    asset!("js/atalaya.js", "text/javascript; charset=utf-8"),
    asset!("js/charts.js", "text/javascript; charset=utf-8"),
    asset!("icons.svg", "image/svg+xml"),
    asset!("vendor/icons-LICENSE.txt", "text/plain; charset=utf-8"),
    asset!(
        "vendor/simple-icons-LICENSE.md",
        "text/markdown; charset=utf-8"
    ),
    asset!(
        "vendor/htmx-2.0.11.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("vendor/htmx-LICENSE.txt", "text/plain; charset=utf-8"),
    asset!(
        "vendor/uPlot-1.6.32.iife.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("vendor/uPlot-1.6.32.min.css", "text/css; charset=utf-8"),
    asset!("vendor/uPlot-LICENSE.txt", "text/plain; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// A short fingerprint of our own assets (CSS, scripts, icons), added to their
/// URLs (`?v=`) so a new release is never served from a stale cache.
pub fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        // FNV-1a: not for security, only to change when any byte changes.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for asset in ASSETS
            .iter()
            .filter(|asset| !asset.path.starts_with("vendor/"))
        {
            for byte in asset.path.bytes().chain(asset.bytes.iter().copied()) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{:08x}", hash >> 32)
    })
}

pub async fn serve(ApiPath(path): ApiPath<String>) -> Result<Response, AppError> {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.path == path)
        .ok_or(AppError::NotFound)?;
    let cache = if asset.path.starts_with("vendor/") {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, cache),
        ],
        asset.bytes,
    )
        .into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn every_asset_is_non_empty_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for asset in super::ASSETS {
            assert!(!asset.bytes.is_empty(), "{}", asset.path);
            assert!(seen.insert(asset.path), "duplicate {}", asset.path);
        }
    }

    /// Regression: the mentions chart's script was referenced by its template
    /// but missing here, so it answered 404 and the chart never drew.
    #[test]
    fn every_static_file_a_template_names_is_served() {
        let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut pending = vec![templates];
        let mut named = Vec::new();
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).unwrap() {
                    pending.push(entry.unwrap().path());
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices("/static/") {
                let rest = &text[at + "/static/".len()..];
                let end = rest
                    .find(['"', '\'', ' ', '?', '#', '{'])
                    .unwrap_or(rest.len());
                named.push((path.display().to_string(), rest[..end].to_owned()));
            }
        }
        assert!(named.iter().any(|(_, asset)| asset == "js/charts.js"));
        for (template, asset) in named {
            assert!(
                super::ASSETS.iter().any(|known| known.path == asset),
                "{template} names /static/{asset}, which is not served"
            );
        }
    }
}
