//! The authorization matrix: every route of `support_axum::ROUTES` against
//! every kind of caller, over real HTTP, on SQLite and PostgreSQL. Foreign
//! callers get 404 on conversation-scoped routes and change nothing; cookie
//! writes must be same-origin.
#![allow(missing_docs)]

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use support_axum::JwtIdentity;
use support_axum::auth::{Claims, ClaimsRole};
use support_core::{ConversationId, MessagesRequest, Principal, UserId};
use support_e2e::{SECRET, Server, expect};
use uuid::Uuid;

support_e2e::on_every_backend!(
    authorization_matrix_holds_for_every_route,
    foreign_conversation_is_indistinguishable_from_a_missing_one,
    foreign_listing_never_shows_another_users_conversation,
    cookie_authenticated_reads_work,
    cookie_authenticated_writes_need_the_same_origin,
);

/// Who calls, in the column order of [`MATRIX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Caller {
    /// No credentials.
    NoToken,
    /// A bearer token signed with another secret (claims admin).
    Forged,
    /// The owner's token, signed correctly, expired an hour ago.
    Expired,
    /// Another user (`mallory`), who has a conversation of her own.
    Foreign,
    /// The user who owns the conversation (`alice`).
    Owner,
    /// An admin (`ada`).
    Admin,
}

const CALLERS: [Caller; 6] = [
    Caller::NoToken,
    Caller::Forged,
    Caller::Expired,
    Caller::Foreign,
    Caller::Owner,
    Caller::Admin,
];

/// Expected status per route (keyed by method and path as in `ROUTES`),
/// per caller in [`CALLERS`] order.
#[rustfmt::skip]
const MATRIX: &[(Method, &str, [u16; 6])] = &[
    //                                              none  forged expired foreign owner admin
    (Method::POST, "/messages",                    [401,  401,   401,    201,    201,  403]),
    (Method::GET,  "/conversations",               [401,  401,   401,    200,    200,  200]),
    (Method::GET,  "/conversations/{id}",          [401,  401,   401,    404,    200,  200]),
    (Method::GET,  "/conversations/{id}/messages", [401,  401,   401,    404,    200,  200]),
    (Method::POST, "/conversations/{id}/messages", [401,  401,   401,    404,    201,  201]),
    (Method::POST, "/conversations/{id}/seen",     [401,  401,   401,    404,    204,  204]),
    (Method::POST, "/conversations/{id}/close",    [401,  401,   401,    404,    403,  200]),
    (Method::POST, "/conversations/{id}/reopen",   [401,  401,   401,    404,    403,  200]),
    (Method::POST, "/conversations/{id}/typing",   [401,  401,   401,    404,    204,  204]),
    (Method::GET,  "/events",                      [401,  401,   401,    200,    200,  200]),
    (Method::GET,  "/presence",                    [401,  401,   401,    200,    200,  200]),
    (Method::PUT,  "/presence",                    [401,  401,   401,    403,    403,  204]),
    (Method::GET,  "/analytics",                   [401,  401,   401,    403,    403,  200]),
    (Method::GET,  "/preferences",                 [401,  401,   401,    200,    200,  200]),
    (Method::PUT,  "/preferences",                 [401,  401,   401,    200,    200,  200]),
    (Method::GET,  "/notifications",               [401,  401,   401,    403,    403,  200]),
    (Method::GET,  "/me",                          [401,  401,   401,    200,    200,  200]),
    (Method::GET,  "/openapi.json",                [200,  200,   200,    200,    200,  200]),
];

type RouteKey = (Method, &'static str);

fn matrix() -> HashMap<RouteKey, [u16; 6]> {
    let mut table = HashMap::new();
    for (method, path, statuses) in MATRIX {
        let previous = table.insert((method.clone(), *path), *statuses);
        assert!(
            previous.is_none(),
            "{method} {path} is listed twice in the matrix"
        );
    }
    table
}

fn routes() -> HashSet<RouteKey> {
    support_axum::ROUTES
        .iter()
        .map(|(method, path)| (method.clone(), *path))
        .collect()
}

#[test]
fn authorization_matrix_lists_exactly_the_routes() {
    let table: HashSet<RouteKey> = matrix().into_keys().collect();
    let routes = routes();
    let missing: Vec<_> = routes.difference(&table).collect();
    let stale: Vec<_> = table.difference(&routes).collect();
    assert!(
        missing.is_empty(),
        "routes without an authorization-matrix entry: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "matrix entries for routes not in ROUTES: {stale:?}"
    );
}

#[test]
fn matrix_hides_foreign_conversations_and_refuses_bad_credentials() {
    for (method, path, statuses) in MATRIX {
        let [none, forged, expired, foreign, _, _] = *statuses;
        if *path != "/openapi.json" {
            assert_eq!(
                [none, forged, expired],
                [401; 3],
                "{method} {path}: credentials are required"
            );
        }
        if path.contains("{id}") {
            assert_eq!(
                foreign, 404,
                "{method} {path}: another's conversation is not found, never forbidden"
            );
        }
    }
}

// ------------------------------------------------------------------ fixture

/// The conversation every cell of the matrix aims at.
struct Scene {
    conversation: String,
    /// Alice's first message and Ada's reply.
    user_message: String,
    admin_message: String,
    expired: String,
}

async fn scene(server: &Server) -> Scene {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (conversation, message) = alice.send("hello, I need help").await;
    let reply = ada.reply(&conversation, "hi alice, what's up?").await;
    alice.send("my invoice is wrong").await;
    // Mallory has a conversation of her own.
    server.user("mallory").send("mallory's own").await;
    let expired = JwtIdentity::hs256(SECRET)
        .issue(&Claims {
            sub: "alice".to_owned(),
            role: ClaimsRole::User,
            exp: (Utc::now() - chrono::Duration::hours(1)).timestamp(),
            name: None,
            email: None,
            phone: None,
        })
        .expect("issue expired token");
    Scene {
        conversation,
        user_message: message["id"].as_str().expect("id").to_owned(),
        admin_message: reply["id"].as_str().expect("id").to_owned(),
        expired,
    }
}

fn request(
    server: &Server,
    scene: &Scene,
    caller: Caller,
    method: &Method,
    path: &str,
) -> RequestBuilder {
    let path = path.replace("{id}", &scene.conversation);
    match caller {
        Caller::NoToken => server.anonymous().request(method.clone(), &path),
        Caller::Forged => server.forged("ada").request(method.clone(), &path),
        Caller::Expired => server
            .anonymous()
            .request(method.clone(), &path)
            .bearer_auth(&scene.expired),
        Caller::Foreign => server.user("mallory").request(method.clone(), &path),
        Caller::Owner => server.user("alice").request(method.clone(), &path),
        Caller::Admin => server.admin("ada").request(method.clone(), &path),
    }
}

/// A valid body for each write route.
fn body(scene: &Scene, caller: Caller, method: &Method, path: &str) -> Option<Value> {
    if *method == Method::PUT && path == "/preferences" {
        return Some(json!({ "preferences": [
            { "kind": "admin_reply", "channel": "email", "enabled": false }
        ] }));
    }
    if *method == Method::PUT && path == "/presence" {
        return Some(json!({ "viewing": scene.conversation }));
    }
    if *method != Method::POST {
        return None;
    }
    if path.ends_with("/messages") {
        return Some(json!({ "content": format!("probe from {caller:?}") }));
    }
    if path.ends_with("/seen") {
        // Each side marks the other side's message.
        let up_to = match caller {
            Caller::Admin => &scene.user_message,
            _ => &scene.admin_message,
        };
        return Some(json!({ "up_to": up_to }));
    }
    None
}

fn problem_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_input",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        _ => "unexpected",
    }
}

/// Runs one cell of the matrix and checks its status (and, for errors, the
/// problem body). Returns the JSON body of a success, if any.
async fn cell(
    server: &Server,
    scene: &Scene,
    caller: Caller,
    method: &Method,
    path: &'static str,
    expected: u16,
) -> Value {
    let mut builder = request(server, scene, caller, method, path);
    if let Some(body) = body(scene, caller, method, path) {
        builder = builder.json(&body);
    }
    let response = builder.send().await.expect("send");
    let status = response.status();
    let what = format!("{method} {path} as {caller:?}");
    if path == "/events" && status == StatusCode::OK {
        // A live stream: the status is the point; do not read it.
        assert_eq!(expected, 200, "{what}");
        drop(response);
        return Value::Null;
    }
    let content_type = content_type(&response);
    let text = response.text().await.expect("body");
    assert_eq!(status.as_u16(), expected, "{what}: body {text}");
    if status.is_client_error() {
        assert!(
            content_type.starts_with("application/problem+json"),
            "{what}: {content_type}"
        );
        let problem: Value = serde_json::from_str(&text).expect("problem JSON");
        assert_eq!(problem["code"], problem_code(status), "{what}: {problem}");
        assert_eq!(problem["status"], expected, "{what}: {problem}");
        Value::Null
    } else if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
    }
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Everything a foreign caller could have changed about the conversation,
/// as the owner and an admin see it: through the core service and over
/// HTTP.
#[derive(Debug, PartialEq)]
struct Snapshot {
    core: Vec<String>,
    http: Vec<Value>,
}

async fn snapshot(server: &Server, conversation: &str) -> Snapshot {
    let id: ConversationId = conversation.parse().expect("conversation id");
    let support = server.support();
    let mut core = Vec::new();
    for who in [
        Principal::user(UserId::parse("alice").expect("user id")),
        Principal::admin(UserId::parse("ada").expect("user id")),
    ] {
        let view = support.conversation(&who, id).await.expect("conversation");
        let page = support
            .messages(
                &who,
                id,
                MessagesRequest {
                    limit: Some(200),
                    ..MessagesRequest::default()
                },
            )
            .await
            .expect("messages");
        core.push(format!("{view:?}"));
        // The log position moves with anyone's writes (an outsider's own
        // conversation too): the conversation's state is what must not.
        core.push(format!("{:?} {}", page.items, page.has_more));
    }
    let mut http = Vec::new();
    for actor in [server.user("alice"), server.admin("ada")] {
        http.push(
            actor
                .get_ok(&format!("/conversations/{conversation}"))
                .await,
        );
        let mut page = actor
            .get_ok(&format!("/conversations/{conversation}/messages?limit=200"))
            .await;
        page["last_event_id"].take();
        http.push(page);
    }
    Snapshot { core, http }
}

// -------------------------------------------------------------------- tests

async fn authorization_matrix_holds_for_every_route(server: Server) {
    let table = matrix();
    let scene = scene(&server).await;
    let expected = |method: &Method, path: &str, caller: Caller| -> u16 {
        let statuses = table
            .get(&(method.clone(), path))
            .unwrap_or_else(|| panic!("{method} {path} has no authorization-matrix entry"));
        let column = CALLERS
            .iter()
            .position(|c| *c == caller)
            .expect("caller column");
        statuses[column]
    };

    // Outsiders first: none of them may change the conversation.
    let before = snapshot(&server, &scene.conversation).await;
    for caller in [
        Caller::NoToken,
        Caller::Forged,
        Caller::Expired,
        Caller::Foreign,
    ] {
        for (method, path) in support_axum::ROUTES {
            let status = expected(method, path, caller);
            let body = cell(&server, &scene, caller, method, path, status).await;
            if caller == Caller::Foreign && *method == Method::GET && *path == "/conversations" {
                let items = body["items"].as_array().expect("items");
                assert!(
                    items.iter().all(|c| c["user_id"] == "mallory"),
                    "a user lists only their own conversations: {body}"
                );
            }
        }
    }
    let after = snapshot(&server, &scene.conversation).await;
    assert_eq!(
        after, before,
        "outsiders changed messages, status, seen marks or unread counts"
    );

    // Then the owner, who may write and read but not resolve.
    for (method, path) in support_axum::ROUTES {
        let status = expected(method, path, Caller::Owner);
        cell(&server, &scene, Caller::Owner, method, path, status).await;
    }
    let owned = server
        .user("alice")
        .get_ok(&format!("/conversations/{}", scene.conversation))
        .await;
    assert_eq!(owned["status"], "open", "the owner's 403s changed nothing");

    // Then an admin.
    for (method, path) in support_axum::ROUTES {
        let status = expected(method, path, Caller::Admin);
        cell(&server, &scene, Caller::Admin, method, path, status).await;
    }
}

async fn foreign_conversation_is_indistinguishable_from_a_missing_one(server: Server) {
    let scene = scene(&server).await;
    let mallory = server.user("mallory");
    let missing = Uuid::now_v7().to_string();
    let before = snapshot(&server, &scene.conversation).await;
    for (method, path) in support_axum::ROUTES {
        if !path.contains("{id}") {
            continue;
        }
        let mut bodies = Vec::new();
        for id in [&scene.conversation, &missing] {
            let mut builder = mallory.request(method.clone(), &path.replace("{id}", id));
            if let Some(body) = body(&scene, Caller::Foreign, method, path) {
                builder = builder.json(&body);
            }
            let response = builder.send().await.expect("send");
            let mut problem = expect(response, StatusCode::NOT_FOUND).await;
            // The detail may not depend on whether the id exists.
            if let Some(object) = problem.as_object_mut() {
                object.remove("instance");
            }
            bodies.push(problem);
        }
        assert_eq!(
            bodies[0], bodies[1],
            "{method} {path}: a foreign conversation must look missing"
        );
    }
    assert_eq!(snapshot(&server, &scene.conversation).await, before);
}

async fn foreign_listing_never_shows_another_users_conversation(server: Server) {
    let scene = scene(&server).await;
    let mallory = server.user("mallory");
    for query in [
        "",
        "?user_id=alice",
        "?q=invoice",
        "?status=open",
        "?awaiting_reply=true",
        "?user_id=alice&q=invoice",
    ] {
        let page = mallory.get_ok(&format!("/conversations{query}")).await;
        let items = page["items"].as_array().expect("items");
        assert!(
            items
                .iter()
                .all(|c| c["user_id"] == "mallory" && c["id"] != scene.conversation.as_str()),
            "{query}: {page}"
        );
    }
}

// ------------------------------------------------------------------ cookies

/// `http://host:port` of the server, as a browser would send in `Origin`.
fn origin(server: &Server) -> String {
    let api = server.api();
    api.strip_suffix(support_example::API_BASE)
        .expect("API base")
        .to_owned()
}

async fn cookie_authenticated_reads_work(server: Server) {
    let (id, _) = server.user("alice").send("hi").await;
    let cookie = server.cookie_user("alice");
    let page = cookie.get_ok("/conversations").await;
    assert_eq!(page["items"][0]["id"], id.as_str());
    cookie.get_ok(&format!("/conversations/{id}")).await;
    cookie
        .get_ok(&format!("/conversations/{id}/messages"))
        .await;

    let bad = server
        .anonymous()
        .request(Method::GET, "/conversations")
        .header("cookie", "support_token=not-a-token")
        .send()
        .await
        .expect("GET");
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let foreign = server.cookie_user("mallory");
    assert_eq!(
        foreign.get(&format!("/conversations/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn cookie_authenticated_writes_need_the_same_origin(server: Server) {
    let cookie = server.cookie_user("alice");
    let write = json!({ "content": "from the page" });
    let refused = [
        None,
        Some("http://evil.example"),
        Some("null"),
        Some("https://127.0.0.1"),
    ];
    for origin in refused {
        let mut builder = cookie.request(Method::POST, "/messages").json(&write);
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        let response = builder.send().await.expect("POST");
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "cookie write with Origin {origin:?}"
        );
        assert!(content_type(&response).starts_with("application/problem+json"));
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["code"], "forbidden");
    }
    let alice = server.user("alice");
    let page = alice.get_ok("/conversations").await;
    assert_eq!(page["items"], json!([]), "refused writes wrote nothing");

    let same_origin = origin(&server);
    let sent = cookie
        .request(Method::POST, "/messages")
        .header("origin", &same_origin)
        .json(&write)
        .send()
        .await
        .expect("POST");
    let sent = expect(sent, StatusCode::CREATED).await;
    let id = sent["conversation"]["id"].as_str().expect("id");
    assert_eq!(sent["message"]["user_id"], "alice");

    // Every write route follows the same rule, e.g. replying and marking.
    let path = format!("/conversations/{id}/messages");
    let cross = cookie
        .request(Method::POST, &path)
        .json(&write)
        .send()
        .await
        .expect("POST");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let same = cookie
        .request(Method::POST, &path)
        .header("origin", &same_origin)
        .json(&write)
        .send()
        .await
        .expect("POST");
    expect(same, StatusCode::CREATED).await;
    let up_to = &sent["message"]["id"];
    let seen_path = format!("/conversations/{id}/seen");
    let cross = cookie
        .request(Method::POST, &seen_path)
        .json(&json!({ "up_to": up_to }))
        .send()
        .await
        .expect("POST");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    let history = alice.get_ok(&format!("/conversations/{id}/messages")).await;
    assert_eq!(history["items"].as_array().map(Vec::len), Some(2));
}
