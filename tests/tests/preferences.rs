//! `GET/PUT /preferences` over real HTTP, on SQLite and PostgreSQL: every
//! switch starts on, a `PUT` changes only the switches it names, each
//! caller reads and writes only their own switches, and malformed bodies
//! are refused with 400.
#![allow(missing_docs)]

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use support_e2e::{Actor, Server, expect};

support_e2e::on_every_backend!(
    every_switch_is_on_by_default,
    put_switches_one_kind_and_channel_off_and_get_reflects_it,
    put_changes_only_the_named_switches_and_can_switch_back_on,
    admins_have_switches_of_their_own,
    a_user_cannot_see_or_change_another_users_preferences,
    preferences_need_authentication,
    bad_preference_bodies_are_refused_with_400,
);

const KINDS: [&str; 2] = ["admin_reply", "user_message"];
const CHANNELS: [&str; 3] = ["email", "sms", "webhook"];

// ---------------------------------------------------------------- helpers

async fn put(actor: &Actor, body: Value) -> Response {
    actor
        .request(Method::PUT, "/preferences")
        .json(&body)
        .send()
        .await
        .expect("PUT /preferences")
}

async fn put_raw(actor: &Actor, body: &'static str) -> Response {
    actor
        .request(Method::PUT, "/preferences")
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .expect("PUT /preferences")
}

/// The switches of a `/preferences` body as (kind, channel, enabled),
/// checking there is exactly one per kind × channel.
fn switches(body: &Value) -> Vec<(String, String, bool)> {
    let list = body["preferences"]
        .as_array()
        .unwrap_or_else(|| panic!("`preferences` must be an array: {body}"));
    let mut all: Vec<(String, String, bool)> = list
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().expect("kind").to_owned(),
                p["channel"].as_str().expect("channel").to_owned(),
                p["enabled"].as_bool().expect("enabled"),
            )
        })
        .collect();
    all.sort();
    let mut named: Vec<(String, String)> =
        all.iter().map(|(k, c, _)| (k.clone(), c.clone())).collect();
    named.dedup();
    assert_eq!(named.len(), all.len(), "a switch listed twice: {body}");
    let mut expected: Vec<(String, String)> = KINDS
        .iter()
        .flat_map(|k| CHANNELS.iter().map(|c| ((*k).to_owned(), (*c).to_owned())))
        .collect();
    expected.sort();
    assert_eq!(named, expected, "every kind × channel, once: {body}");
    all
}

/// The switches that are off.
fn off(body: &Value) -> Vec<(String, String)> {
    switches(body)
        .into_iter()
        .filter(|(_, _, on)| !on)
        .map(|(k, c, _)| (k, c))
        .collect()
}

fn pair(kind: &str, channel: &str) -> (String, String) {
    (kind.to_owned(), channel.to_owned())
}

async fn bad_request(response: Response) {
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("body");
    assert_eq!(status, StatusCode::BAD_REQUEST, "body: {text}");
    assert!(
        content_type.starts_with("application/problem+json"),
        "{content_type}: {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("JSON problem");
    assert_eq!(body["code"], "invalid_input", "{body}");
}

// ------------------------------------------------------------------ tests

async fn every_switch_is_on_by_default(server: Server) {
    let alice = server.user("alice");
    let body = alice.get_ok("/preferences").await;
    assert!(off(&body).is_empty(), "{body}");
}

async fn put_switches_one_kind_and_channel_off_and_get_reflects_it(server: Server) {
    let alice = server.user("alice");
    let changed = expect(
        put(
            &alice,
            json!({ "preferences": [
                { "kind": "admin_reply", "channel": "email", "enabled": false }
            ]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(off(&changed), vec![pair("admin_reply", "email")]);
    let read = alice.get_ok("/preferences").await;
    assert_eq!(read, changed, "GET returns what PUT returned");
    assert_eq!(off(&read), vec![pair("admin_reply", "email")]);
}

async fn put_changes_only_the_named_switches_and_can_switch_back_on(server: Server) {
    let alice = server.user("alice");
    expect(
        put(
            &alice,
            json!({ "preferences": [
                { "kind": "admin_reply", "channel": "email", "enabled": false },
                { "kind": "admin_reply", "channel": "sms", "enabled": false }
            ]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // Naming one switch leaves the other as it was.
    let body = expect(
        put(
            &alice,
            json!({ "preferences": [
                { "kind": "admin_reply", "channel": "email", "enabled": true }
            ]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(off(&body), vec![pair("admin_reply", "sms")]);
    // An empty change changes nothing and returns every switch.
    let body = expect(
        put(&alice, json!({ "preferences": [] })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(off(&body), vec![pair("admin_reply", "sms")]);
    assert_eq!(
        off(&alice.get_ok("/preferences").await),
        vec![pair("admin_reply", "sms")]
    );
}

async fn admins_have_switches_of_their_own(server: Server) {
    let ada = server.admin("ada");
    let alice = server.user("alice");
    expect(
        put(
            &ada,
            json!({ "preferences": [
                { "kind": "user_message", "channel": "webhook", "enabled": false }
            ]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        off(&ada.get_ok("/preferences").await),
        vec![pair("user_message", "webhook")]
    );
    assert!(off(&alice.get_ok("/preferences").await).is_empty());
}

async fn a_user_cannot_see_or_change_another_users_preferences(server: Server) {
    let alice = server.user("alice");
    let bob = server.user("bob");
    expect(
        put(
            &alice,
            json!({ "preferences": [
                { "kind": "admin_reply", "channel": "sms", "enabled": false }
            ]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // Bob sees his own switches, whatever he asks for.
    for path in [
        "/preferences",
        "/preferences?user_id=alice",
        "/preferences?user=alice",
    ] {
        let body = bob.get_ok(path).await;
        assert!(off(&body).is_empty(), "{path}: bob saw alice's: {body}");
    }
    // There is no per-user path to reach alice's switches.
    let response = bob.get("/preferences/alice").await;
    assert!(
        response.status() == StatusCode::NOT_FOUND
            || response.status() == StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        response.status()
    );
    // Naming a user in the body is refused, not applied to her.
    bad_request(
        put(
            &bob,
            json!({ "user_id": "alice", "preferences": [
                { "kind": "admin_reply", "channel": "email", "enabled": false }
            ]}),
        )
        .await,
    )
    .await;
    bad_request(
        put(
            &bob,
            json!({ "preferences": [
                { "user_id": "alice", "kind": "admin_reply", "channel": "email", "enabled": false }
            ]}),
        )
        .await,
    )
    .await;
    // Bob's own change stays his.
    expect(
        put(
            &bob,
            json!({ "preferences": [
                { "kind": "admin_reply", "channel": "email", "enabled": false }
            ]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        off(&alice.get_ok("/preferences").await),
        vec![pair("admin_reply", "sms")],
        "alice's switches are untouched"
    );
    assert_eq!(
        off(&bob.get_ok("/preferences").await),
        vec![pair("admin_reply", "email")]
    );
}

async fn preferences_need_authentication(server: Server) {
    let anonymous = server.anonymous();
    expect(
        anonymous.get("/preferences").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    expect(
        put(&anonymous, json!({ "preferences": [] })).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let forged = server.forged("alice");
    expect(forged.get("/preferences").await, StatusCode::UNAUTHORIZED).await;
}

async fn bad_preference_bodies_are_refused_with_400(server: Server) {
    let alice = server.user("alice");
    let bodies = [
        // not JSON
        "{",
        "not json",
        // wrong shape
        "[]",
        "{}",
        r#"{"preferences": null}"#,
        r#"{"preferences": {"kind": "admin_reply", "channel": "email", "enabled": false}}"#,
        // unknown kind or channel
        r#"{"preferences": [{"kind": "carrier_pigeon", "channel": "email", "enabled": false}]}"#,
        r#"{"preferences": [{"kind": "admin_reply", "channel": "fax", "enabled": false}]}"#,
        // missing or mistyped field
        r#"{"preferences": [{"kind": "admin_reply", "channel": "email"}]}"#,
        r#"{"preferences": [{"kind": "admin_reply", "channel": "email", "enabled": "no"}]}"#,
        // unknown field
        r#"{"preferences": [], "extra": 1}"#,
        // one switch named twice
        r#"{"preferences": [
            {"kind": "admin_reply", "channel": "email", "enabled": false},
            {"kind": "admin_reply", "channel": "email", "enabled": true}
        ]}"#,
    ];
    for body in bodies {
        let response = put_raw(&alice, body).await;
        let status = response.status();
        if status != StatusCode::BAD_REQUEST {
            let text = response.text().await.unwrap_or_default();
            panic!("{body}: expected 400, got {status}: {text}");
        }
        bad_request(response).await;
    }
    assert!(
        off(&alice.get_ok("/preferences").await).is_empty(),
        "no refused body changed a switch"
    );
}
