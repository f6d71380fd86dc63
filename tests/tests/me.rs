//! `GET /me`: who the API takes the caller to be.
#![allow(missing_docs)]

use reqwest::StatusCode;
use support_e2e::{Server, expect, on_every_backend};

async fn me_reports_the_caller_and_their_role(server: Server) {
    let alice = server.user("alice").get_ok("/me").await;
    assert_eq!(alice["user_id"], "alice");
    assert_eq!(alice["role"], "user");
    let ada = server.admin("ada").get_ok("/me").await;
    assert_eq!(ada["role"], "admin");
    let nobody = server.anonymous().get("/me").await;
    let problem = expect(nobody, StatusCode::UNAUTHORIZED).await;
    assert_eq!(problem["code"], "unauthenticated");
}

on_every_backend!(me_reports_the_caller_and_their_role);
