//! The pages: who gets which page, the security headers every page
//! carries, and the assets with their content types.
#![cfg(feature = "pages")]
#![allow(missing_docs)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use support_axum::auth::{Claims, ClaimsRole};
use support_axum::pages::{self, ASSETS, CONTENT_SECURITY_POLICY, PagesConfig};
use support_axum::{JwtIdentity, SupportApi};
use support_sqlx::SqliteStorage;
use tower::ServiceExt;

const SECRET: &str = "pages-test-secret";

async fn app(login_url: Option<&str>) -> Router {
    let storage = SqliteStorage::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    let api = SupportApi::builder(Arc::new(storage), JwtIdentity::hs256(SECRET))
        .build()
        .await
        .expect("api");
    Router::new()
        .nest("/api/support", support_axum::router(api.clone()))
        .merge(pages::router(
            api,
            PagesConfig {
                login_url: login_url.map(str::to_owned),
                ..PagesConfig::default()
            },
        ))
}

fn token(sub: &str, role: ClaimsRole, name: Option<&str>) -> String {
    JwtIdentity::hs256(SECRET)
        .issue(&Claims {
            sub: sub.to_owned(),
            role,
            exp: chrono::Utc::now().timestamp() + 600,
            name: name.map(str::to_owned),
            email: None,
            phone: None,
        })
        .expect("token")
}

async fn get(app: &Router, path: &str, token: Option<&str>) -> Response<Body> {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::COOKIE, format!("support_token={token}"));
    }
    app.clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("response")
}

async fn text(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

fn header_of<'a>(response: &'a Response<Body>, name: &header::HeaderName) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn assert_secure_html(response: &Response<Body>, what: &str) {
    assert_eq!(
        header_of(response, &header::CONTENT_TYPE),
        "text/html; charset=utf-8",
        "{what}"
    );
    let csp = header_of(response, &header::CONTENT_SECURITY_POLICY);
    assert_eq!(csp, CONTENT_SECURITY_POLICY, "{what}");
    assert!(!csp.contains("unsafe-inline"), "{what}");
    assert!(csp.contains("script-src 'self'"), "{what}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}");
    assert_eq!(
        header_of(response, &header::X_CONTENT_TYPE_OPTIONS),
        "nosniff",
        "{what}"
    );
}

#[tokio::test]
async fn each_page_is_served_to_its_role_with_the_security_headers() {
    let app = app(None).await;
    let alice = token("alice", ClaimsRole::User, Some("Alice"));
    let ada = token("ada", ClaimsRole::Admin, None);
    let id = uuid::Uuid::now_v7();
    for (path, token, page_script) in [
        ("/support", &alice, "user-page.js"),
        ("/admin/support", &ada, "admin-page.js"),
        (&*format!("/admin/support/{id}"), &ada, "admin-page.js"),
    ] {
        let response = get(&app, path, Some(token)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_secure_html(&response, path);
        assert_eq!(header_of(&response, &header::CACHE_CONTROL), "no-store");
        let body = text(response).await;
        assert!(
            body.contains(r#"<meta name="support-api" content="/api/support">"#),
            "{path}"
        );
        assert!(
            body.contains(&format!(
                r#"<script type="module" src="/support/assets/{page_script}"></script>"#
            )),
            "{path}"
        );
        // No inline script: every script element loads a file.
        assert_eq!(
            body.matches("<script").count(),
            body.matches("<script type=\"module\" src=").count(),
            "{path}"
        );
    }
    let conversation = text(get(&app, &format!("/admin/support/{id}"), Some(&ada)).await).await;
    assert!(conversation.contains(&format!(
        r#"<meta name="support-conversation" content="{id}">"#
    )));
}

#[tokio::test]
async fn a_user_on_the_desk_is_refused_and_an_admin_on_the_user_page_goes_to_the_desk() {
    let app = app(None).await;
    let alice = token("alice", ClaimsRole::User, None);
    let ada = token("ada", ClaimsRole::Admin, None);

    let refused = get(&app, "/admin/support", Some(&alice)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_secure_html(&refused, "refusal");

    let redirected = get(&app, "/support", Some(&ada)).await;
    assert!(redirected.status().is_redirection());
    assert_eq!(header_of(&redirected, &header::LOCATION), "/admin/support");

    let malformed = get(&app, "/admin/support/not-a-uuid", Some(&ada)).await;
    assert_eq!(malformed.status(), StatusCode::NOT_FOUND);
    assert_secure_html(&malformed, "not found");
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_the_login_or_told_to_sign_in() {
    let with_login = app(Some("/login")).await;
    for path in ["/support", "/admin/support"] {
        let response = get(&with_login, path, None).await;
        assert!(response.status().is_redirection(), "{path}");
        assert_eq!(header_of(&response, &header::LOCATION), "/login");
    }
    let bad_token = get(&with_login, "/support", Some("not.a.token")).await;
    assert!(bad_token.status().is_redirection());

    let without_login = app(None).await;
    let response = get(&without_login, "/support", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_secure_html(&response, "signed out");
    assert!(text(response).await.contains("Please sign in"));
}

#[tokio::test]
async fn what_the_page_says_about_the_viewer_is_escaped() {
    let app = app(None).await;
    let mallory = token(
        "mallory\"><script>alert(1)</script>",
        ClaimsRole::User,
        Some("<img src=x onerror=alert(2)>"),
    );
    let body = text(get(&app, "/support", Some(&mallory)).await).await;
    assert!(!body.contains("<img src=x"));
    assert!(!body.contains("<script>alert"));
    assert!(body.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(body.contains("mallory&quot;&gt;&lt;script&gt;"));
}

#[tokio::test]
async fn assets_are_served_with_their_content_types_and_revalidate() {
    let app = app(None).await;
    for asset in ASSETS {
        let path = format!("/support/assets/{}", asset.name);
        // Assets are public: the pages' scripts load before anyone signs in.
        let response = get(&app, &path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let expected = if asset.name.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else if asset.name.ends_with(".css") {
            "text/css; charset=utf-8"
        } else if asset.name.ends_with(".svg") {
            "image/svg+xml"
        } else {
            panic!("unexpected asset {}", asset.name)
        };
        assert_eq!(header_of(&response, &header::CONTENT_TYPE), expected);
        assert_eq!(
            header_of(&response, &header::X_CONTENT_TYPE_OPTIONS),
            "nosniff"
        );
        let etag = header_of(&response, &header::ETAG).to_owned();
        assert_eq!(text(response).await.as_bytes(), asset.body);

        let revalidated = app
            .clone()
            .oneshot(
                Request::get(&path)
                    .header(header::IF_NONE_MATCH, &etag)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    let missing = get(&app, "/support/assets/nope.js", None).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let traversal = get(&app, "/support/assets/..%2Fsecret", None).await;
    assert_eq!(traversal.status(), StatusCode::NOT_FOUND);
}

#[test]
fn every_module_a_script_imports_is_served() {
    for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
        let source = std::str::from_utf8(asset.body).expect("utf-8");
        for line in source.lines() {
            let line = line.trim();
            if !(line.starts_with("import ")
                || line.starts_with("export ")
                || line.starts_with("} from"))
            {
                continue;
            }
            let Some(start) = line.find("'./") else {
                continue;
            };
            let rest = &line[start + 3..];
            let name = &rest[..rest.find('\'').expect("closing quote")];
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "{} imports {name}, which is not in ASSETS",
                asset.name
            );
        }
    }
}
