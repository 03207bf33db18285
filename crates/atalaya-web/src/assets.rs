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
mod tests {
    #[test]
    fn every_asset_is_non_empty_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for asset in super::ASSETS {
            assert!(!asset.bytes.is_empty(), "{}", asset.path);
            assert!(seen.insert(asset.path), "duplicate {}", asset.path);
        }
    }
}
