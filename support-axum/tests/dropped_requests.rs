//! A write whose request goes away (the client disconnects, a timeout drops
//! the handler) while its commit is under way still finishes as a whole:
//! it commits and its live events are published (by the log tail, which
//! does not depend on the request).
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use support_axum::auth::{Claims, ClaimsRole};
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
    let mut live = api.live().subscribe(&admin);

    let mut committed_after_drop = 0;
    for n in 0..20 {
        let user = format!("user-{n}");
        let request = Request::post("/messages")
            .header(header::AUTHORIZATION, format!("Bearer {}", token(&user)))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(format!(
                r#"{{"content": "are you there? {n}"}}"#
            )))
            .expect("request");
        let mut call = Box::pin(support_axum::router(api.clone()).oneshot(request));
        // One poll takes the handler to its first wait (usually the batch
        // commit on its blocking thread), then the request is gone.
        let before = api.support().latest_event().await.expect("log");
        let pending = futures::poll!(call.as_mut()).is_pending();
        drop(call);
        // A request dropped before its write began (the writer was still
        // busy with the previous batch) changes nothing: nothing to deliver.
        tokio::time::sleep(Duration::from_millis(200)).await;
        if api.support().latest_event().await.expect("log") == before {
            assert!(pending, "an answered send was committed");
            continue;
        }

        // A write that committed is delivered live, whether or not its
        // request was still there.
        let event = tokio::time::timeout(Duration::from_secs(1), live.receiver.recv())
            .await
            .expect("the dropped send's events are published")
            .expect("event");
        assert_eq!(event.name, "conversation.created");
        assert!(event.data.contains(&user));
        let event = live.receiver.recv().await.expect("event");
        assert_eq!(event.name, "message.created");
        assert!(event.data.contains(&format!("are you there? {n}")));
        committed_after_drop += usize::from(pending);
    }
    assert!(
        committed_after_drop > 0,
        "some writes committed after their request was dropped"
    );
}
