//! A write whose request goes away (the client disconnects, a timeout drops
//! the handler) still finishes as a whole: it commits and its live events
//! are published.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use support_axum::auth::{Claims, ClaimsRole};
use support_axum::live::LiveFeed;
use support_axum::{JwtIdentity, SupportApi};
use support_core::{Principal, UserId};
use support_sqlx::SqliteStorage;
use tower::ServiceExt;

const SECRET: &str = "dropped-requests-secret";

fn token(sub: &str) -> String {
    JwtIdentity::hs256(SECRET)
        .issue(&Claims {
            sub: sub.to_owned(),
            role: ClaimsRole::User,
            exp: chrono::Utc::now().timestamp() + 600,
            name: None,
            email: None,
            phone: None,
        })
        .expect("token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_dropped_while_committing_still_reaches_live_subscribers() {
    let storage = SqliteStorage::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    let api = SupportApi::builder(Arc::new(storage), JwtIdentity::hs256(SECRET))
        .build()
        .await
        .expect("api");
    let admin = Principal::admin(UserId::parse("ada").expect("id"));
    let mut live = api.live().subscribe(&admin).await;

    let request = Request::post("/messages")
        .header(header::AUTHORIZATION, format!("Bearer {}", token("alice")))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"content": "are you there?"}"#))
        .expect("request");
    let mut call = Box::pin(support_axum::router(api.clone()).oneshot(request));
    // One poll takes the handler to its first wait (the commit, or the
    // write task), then the request is gone.
    assert!(futures::poll!(call.as_mut()).is_pending());
    drop(call);

    let event = tokio::time::timeout(Duration::from_secs(10), live.receiver.recv())
        .await
        .expect("the dropped send's events are published")
        .expect("event");
    assert_eq!(event.name, "conversation.created");
    let event = live.receiver.recv().await.expect("event");
    assert_eq!(event.name, "message.created");
    assert!(event.data.contains("are you there?"));
}
