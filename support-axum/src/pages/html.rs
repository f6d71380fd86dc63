//! The HTML documents: embedded templates filled with escaped values, sent
//! with the security headers every page carries.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::PagesConfig;
use crate::auth::Authenticated;
use crate::html::escape_into;

/// The Content-Security-Policy of every page: scripts, styles and
/// connections from the page's own origin only, no inline script or style,
/// no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; \
     object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const USER: &str = include_str!("../../assets/user.html");
const ADMIN: &str = include_str!("../../assets/admin.html");
const NOTICE: &str = include_str!("../../assets/notice.html");

/// Which page.
#[derive(Clone, Copy)]
pub(super) enum View {
    /// The user's chat.
    User,
    /// The admin desk: the dashboard, or one conversation.
    Desk(Option<Uuid>),
}

/// A page for a signed-in viewer.
pub(super) fn page(config: &PagesConfig, view: View, who: &Authenticated) -> Response {
    let me = who.principal.id.to_string();
    let name = who.profile.name.clone().unwrap_or_else(|| me.clone());
    let role = if who.principal.is_admin() {
        "admin"
    } else {
        "user"
    };
    let (template, conversation) = match view {
        View::User => (USER, String::new()),
        View::Desk(id) => (ADMIN, id.map(|id| id.to_string()).unwrap_or_default()),
    };
    let login = config.login_url.clone().unwrap_or_default();
    let body = render(
        template,
        &[
            ("title", &config.title),
            ("api", &config.api_base),
            ("assets", &config.assets_path),
            ("user_path", &config.user_path),
            ("admin_path", &config.admin_path),
            ("login", &login),
            ("me", &me),
            ("me_name", &name),
            ("role", role),
            ("conversation", &conversation),
        ],
    );
    respond(StatusCode::OK, body)
}

/// A short page that explains why there is nothing to show.
pub(super) fn notice(
    config: &PagesConfig,
    status: StatusCode,
    heading: &str,
    text: &str,
) -> Response {
    let (link, link_text) = match (&config.login_url, status) {
        (Some(login), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
            (login.as_str(), "Sign in as someone else")
        }
        _ => (config.user_path.as_str(), "Go to support"),
    };
    let body = render(
        NOTICE,
        &[
            ("title", &config.title),
            ("assets", &config.assets_path),
            ("heading", heading),
            ("text", text),
            ("link", link),
            ("link_text", link_text),
        ],
    );
    respond(status, body)
}

fn respond(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    super::assets::common_headers(headers);
    // The page names its viewer: never stored by a shared cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Replaces each `{{name}}` of `template` with its value, HTML-escaped.
/// A name without a value becomes empty.
fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        if let Some((_, value)) = values.iter().find(|(key, _)| *key == name) {
            escape_into(&mut out, value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_unknown_names_vanish() {
        let out = render(
            r#"<meta content="{{a}}"><p>{{ b }}</p>{{missing}}!"#,
            &[("a", r#""><script>x</script>"#), ("b", "Tom & 'Jerry'")],
        );
        assert_eq!(
            out,
            r#"<meta content="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"><p>Tom &amp; &#39;Jerry&#39;</p>!"#
        );
    }

    #[test]
    fn templates_name_only_known_values() {
        let known = [
            "title",
            "api",
            "assets",
            "user_path",
            "admin_path",
            "login",
            "me",
            "me_name",
            "role",
            "conversation",
            "heading",
            "text",
            "link",
            "link_text",
        ];
        for template in [USER, ADMIN, NOTICE] {
            let mut rest = template;
            while let Some(start) = rest.find("{{") {
                let after = &rest[start + 2..];
                let end = after.find("}}").expect("closed placeholder");
                let name = after[..end].trim();
                assert!(known.contains(&name), "unknown placeholder {name}");
                rest = &after[end + 2..];
            }
        }
    }

    #[test]
    fn the_policy_allows_no_inline_script_or_style() {
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-eval"));
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self'"));
    }
}
