//! Cross-site request forgery: a write authenticated by a cookie must come
//! from a page of the same origin.

use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

/// Which origins may send cookie-authenticated writes.
#[derive(Clone, Debug, Default)]
pub struct OriginPolicy {
    /// Extra origins (`https://app.example.com`) besides the request's own
    /// host, e.g. behind a proxy that rewrites `Host`.
    pub trusted_origins: Vec<String>,
}

impl OriginPolicy {
    /// Whether a request with ambient credentials may proceed. Safe methods
    /// always may. Writes need an `Origin` equal to the request's host (or a
    /// trusted origin), or, without `Origin`, `Sec-Fetch-Site: same-origin`.
    pub fn allows(&self, request: &Parts) -> bool {
        if matches!(request.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return true;
        }
        let headers = &request.headers;
        match header_str(headers, header::ORIGIN.as_str()) {
            Some(origin) => {
                self.trusted_origins.iter().any(|trusted| trusted == origin)
                    || host_of(origin).is_some_and(|host| Some(host) == header_str(headers, "host"))
            }
            None => matches!(
                header_str(headers, "sec-fetch-site"),
                Some("same-origin") | Some("none")
            ),
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `host[:port]` of an origin like `http://host:port`.
fn host_of(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    Some(rest.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
        let mut request = Request::builder().method(method).uri("/x");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).expect("request").into_parts().0
    }

    #[test]
    fn cookie_writes_need_a_same_origin_signal() {
        let policy = OriginPolicy::default();
        let host = ("host", "desk.local:3000");
        let cases = [
            (Method::GET, vec![host], true),
            (
                Method::POST,
                vec![host, ("origin", "http://desk.local:3000")],
                true,
            ),
            (
                Method::POST,
                vec![host, ("origin", "http://evil.example")],
                false,
            ),
            (Method::POST, vec![host, ("origin", "null")], false),
            (
                Method::POST,
                vec![host, ("sec-fetch-site", "same-origin")],
                true,
            ),
            (
                Method::POST,
                vec![host, ("sec-fetch-site", "cross-site")],
                false,
            ),
            (Method::POST, vec![host], false),
        ];
        for (method, headers, allowed) in cases {
            assert_eq!(
                policy.allows(&parts(method.clone(), &headers)),
                allowed,
                "{method} {headers:?}"
            );
        }
        let trusting = OriginPolicy {
            trusted_origins: vec!["https://app.example".into()],
        };
        assert!(trusting.allows(&parts(
            Method::POST,
            &[host, ("origin", "https://app.example")]
        )));
    }
}
