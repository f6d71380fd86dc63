//! The embedded static assets: compiled into the binary, served with their
//! content type and an ETag so browsers revalidate cheaply.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// File name, as requested under the assets path.
    pub name: &'static str,
    /// `Content-Type` it is served with.
    pub content_type: &'static str,
    /// The bytes.
    pub body: &'static [u8],
    hash: u64,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, body: &'static [u8]) -> Self {
        Self {
            name,
            content_type,
            body,
            hash: fnv1a(body),
        }
    }

    /// A strong validator derived from the content.
    pub fn etag(&self) -> String {
        format!("\"{:016x}\"", self.hash)
    }
}

/// FNV-1a, 64 bits: enough to tell two versions of a file apart.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset::new(
            $name,
            $type,
            include_bytes!(concat!("../../assets/", $name)),
        )
    };
}

/// Every asset, by name. The pages load `support.css` and a page module
/// (`user-page.js`, `admin-page.js`); hosts embedding the components load
/// `support.css` and `support.js`.
pub static ASSETS: &[Asset] = &[
    asset!("support.css", CSS),
    asset!("support.js", JS),
    asset!("user-page.js", JS),
    asset!("admin-page.js", JS),
    asset!("api.js", JS),
    asset!("live.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("chat-model.js", JS),
    asset!("support-message.js", JS),
    asset!("support-input.js", JS),
    asset!("support-chat.js", JS),
    asset!("conversation-preview.js", JS),
    asset!("conversation-list.js", JS),
    asset!("support-analytics.js", JS),
    asset!("support-button.js", JS),
    asset!("support-status.js", JS),
    asset!("icon.svg", SVG),
];

/// Headers every pages response carries.
pub(super) fn common_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// The asset `name`, 304 when the client's copy is current, or 404.
pub(super) fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == name) else {
        let mut response = (StatusCode::NOT_FOUND, "no such asset").into_response();
        common_headers(response.headers_mut());
        return response;
    };
    let etag = asset.etag();
    let current = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let mut response = if current {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset.body.into_response()
    };
    let headers = response.headers_mut();
    if !current {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    // Revalidated on every use, so a new release is picked up at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    common_headers(headers);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_are_unique_and_flat() {
        for (i, asset) in ASSETS.iter().enumerate() {
            assert!(!asset.name.contains('/'), "{}", asset.name);
            assert!(
                ASSETS[i + 1..].iter().all(|other| other.name != asset.name),
                "{} twice",
                asset.name
            );
        }
    }

    #[test]
    fn scripts_never_assign_markup() {
        // Message content must only ever become text: no script may parse
        // strings as HTML.
        for asset in ASSETS.iter().filter(|a| a.content_type == JS) {
            let text = std::str::from_utf8(asset.body).expect("utf-8");
            for forbidden in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
            ] {
                assert!(!text.contains(forbidden), "{} uses {forbidden}", asset.name);
            }
        }
    }
}
