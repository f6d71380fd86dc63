//! The contract's input rules, table-driven, over real HTTP on SQLite and
//! PostgreSQL: every malformed body, query, path or header is a 400 (or
//! 413) problem with a stable `code`, never a 5xx, and writes nothing.
//! Unknown routes are 404 problems, wrong methods 405 problems.
#![allow(missing_docs)]

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support_e2e::Server;
use uuid::Uuid;

support_e2e::on_every_backend!(
    message_bodies_that_break_the_input_rules_are_400,
    replies_that_break_the_input_rules_are_400,
    seen_bodies_that_break_the_input_rules_are_400,
    presence_bodies_that_break_the_input_rules_are_400,
    bodies_over_64_kib_are_413,
    bad_conversation_list_queries_are_400,
    bad_history_queries_are_400,
    bad_analytics_ranges_are_400,
    malformed_path_ids_are_400,
    malformed_last_event_id_is_400,
    unknown_routes_are_404_problems,
    wrong_methods_are_405_problems,
    input_at_the_limits_is_accepted,
    search_text_is_never_query_syntax,
    forged_cursors_are_never_a_server_error,
    resuming_after_the_largest_event_id_is_not_a_server_error,
);

// ------------------------------------------------------------------ fixture

#[derive(Clone, Copy, Debug)]
enum Who {
    /// `alice`, who owns the scene's conversation.
    User,
    /// `ada`.
    Admin,
}

#[derive(Clone, Debug)]
enum Body {
    None,
    Json(Value),
    /// Raw bytes with an optional `Content-Type`.
    Raw(Vec<u8>, Option<&'static str>),
}

/// One bad request and the problem it must produce.
#[derive(Clone, Debug)]
struct Case {
    name: &'static str,
    who: Who,
    method: Method,
    /// Relative to the API base; `{conv}`, `{msg}`, `{other_msg}` are
    /// replaced with ids from the [`Scene`] (in JSON bodies too).
    path: String,
    body: Body,
    header: Option<(&'static str, &'static str)>,
    status: StatusCode,
    code: &'static str,
}

fn case(name: &'static str, method: Method, path: impl Into<String>, body: Body) -> Case {
    Case {
        name,
        who: Who::User,
        method,
        path: path.into(),
        body,
        header: None,
        status: StatusCode::BAD_REQUEST,
        code: "invalid_input",
    }
}

impl Case {
    fn admin(mut self) -> Self {
        self.who = Who::Admin;
        self
    }

    fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.header = Some((name, value));
        self
    }

    fn expect(mut self, status: StatusCode, code: &'static str) -> Self {
        self.status = status;
        self.code = code;
        self
    }
}

fn json_body(value: Value) -> Body {
    Body::Json(value)
}

fn raw(text: impl Into<String>) -> Body {
    Body::Raw(text.into().into_bytes(), Some("application/json"))
}

fn untyped(text: &str, content_type: Option<&'static str>) -> Body {
    Body::Raw(text.as_bytes().to_vec(), content_type)
}

/// Alice's conversation (her message and an admin reply) and Bob's.
struct Scene {
    conversation: String,
    message: String,
    other_message: String,
}

async fn scene(server: &Server) -> Scene {
    let (conversation, message) = server.user("alice").send("hello").await;
    server.admin("ada").reply(&conversation, "hi").await;
    let (_, other) = server.user("bob").send("bob here").await;
    Scene {
        conversation,
        message: message["id"].as_str().expect("id").to_owned(),
        other_message: other["id"].as_str().expect("id").to_owned(),
    }
}

/// What the scene holds, over HTTP: every conversation and every message.
async fn stored(server: &Server) -> Value {
    let ada = server.admin("ada");
    let page = ada.get_ok("/conversations?limit=100").await;
    let mut all = Vec::new();
    for item in page["items"].as_array().expect("items") {
        let id = item["id"].as_str().expect("id");
        let messages = ada
            .get_ok(&format!("/conversations/{id}/messages?limit=200"))
            .await;
        all.push(json!({ "conversation": item, "messages": messages }));
    }
    Value::Array(all)
}

/// Sends one case; `Err` describes how the answer broke the rule.
async fn run(server: &Server, scene: &Scene, case: &Case) -> Result<(), String> {
    let actor = match case.who {
        Who::User => server.user("alice"),
        Who::Admin => server.admin("ada"),
    };
    let path = case
        .path
        .replace("{conv}", &scene.conversation)
        .replace("{other_msg}", &scene.other_message)
        .replace("{msg}", &scene.message);
    let mut request = actor.request(case.method.clone(), &path);
    match &case.body {
        Body::None => {}
        Body::Json(value) => {
            let text = value
                .to_string()
                .replace("{other_msg}", &scene.other_message)
                .replace("{msg}", &scene.message);
            let value: Value = serde_json::from_str(&text).expect("JSON");
            request = request.json(&value);
        }
        Body::Raw(text, content_type) => {
            request = request.body(text.clone());
            if let Some(content_type) = content_type {
                request = request.header(CONTENT_TYPE, *content_type);
            }
        }
    }
    if let Some((name, value)) = case.header {
        request = request.header(name, value);
    }
    let what = format!("[{}] {} {}", case.name, case.method, case.path);
    let response = request.send().await.map_err(|e| format!("{what}: {e}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap_or_default();
    let short: String = text.chars().take(300).collect();
    if status != case.status {
        return Err(format!(
            "{what}: expected {}, got {status}; body: {short}",
            case.status
        ));
    }
    if !content_type.starts_with("application/problem+json") {
        return Err(format!(
            "{what}: expected application/problem+json, got {content_type:?}"
        ));
    }
    let body: Value =
        serde_json::from_str(&text).map_err(|e| format!("{what}: not JSON ({e}): {short}"))?;
    for field in ["type", "title", "detail"] {
        if body[field].as_str().is_none_or(str::is_empty) {
            return Err(format!("{what}: problem lacks `{field}`: {body}"));
        }
    }
    if body["status"] != case.status.as_u16() {
        return Err(format!("{what}: problem status mismatch: {body}"));
    }
    if body["code"] != case.code {
        return Err(format!("{what}: expected code {}: {body}", case.code));
    }
    Ok(())
}

/// Runs every case, reports every failure at once, and checks that none of
/// them wrote anything.
async fn run_table(server: Server, cases: Vec<Case>) {
    let scene = scene(&server).await;
    let before = stored(&server).await;
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(failure) = run(&server, &scene, case).await {
            failures.push(failure);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases broke the input rules:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(
        stored(&server).await,
        before,
        "rejected input changed state"
    );
}

// ------------------------------------------------------------------- bodies

/// Bodies that break the rules of `{content, client_id?}`.
fn bad_message_bodies() -> Vec<(&'static str, Body)> {
    vec![
        ("malformed JSON", raw(r#"{"content": "hi""#)),
        ("trailing garbage", raw(r#"{"content": "hi"} x"#)),
        ("empty body", raw("")),
        ("JSON array", raw("[]")),
        ("JSON string", raw(r#""hi""#)),
        ("JSON null", raw("null")),
        ("content is a number", json_body(json!({ "content": 42 }))),
        ("content is null", json_body(json!({ "content": null }))),
        (
            "content is an object",
            json_body(json!({ "content": { "text": "hi" } })),
        ),
        (
            "content is an array",
            json_body(json!({ "content": ["hi"] })),
        ),
        (
            "client_id is a number",
            json_body(json!({ "content": "hi", "client_id": 5 })),
        ),
        (
            "unknown field",
            json_body(json!({ "content": "hi", "is_admin_message": true })),
        ),
        ("missing content", json_body(json!({}))),
        (
            "duplicate content field",
            raw(r#"{"content": "a", "content": "b"}"#),
        ),
        ("lone surrogate", raw(r#"{"content": "\ud800"}"#)),
        ("deeply nested", raw("[".repeat(10_000))),
        (
            "invalid UTF-8",
            Body::Raw(
                b"{\"content\": \"\xff\"}".to_vec(),
                Some("application/json"),
            ),
        ),
        ("only client_id", json_body(json!({ "client_id": "abc" }))),
        ("empty content", json_body(json!({ "content": "" }))),
        (
            "whitespace content",
            json_body(json!({ "content": "  \n\t \r\n " })),
        ),
        (
            "content over 10,000 chars",
            json_body(json!({ "content": "a".repeat(10_001) })),
        ),
        (
            "content over 10,000 multibyte chars",
            json_body(json!({ "content": "é".repeat(10_001) })),
        ),
        ("NUL", json_body(json!({ "content": "a\u{0}b" }))),
        ("leading NUL", json_body(json!({ "content": "\u{0}hi" }))),
        ("BEL", json_body(json!({ "content": "a\u{7}b" }))),
        ("carriage return", json_body(json!({ "content": "a\r\nb" }))),
        ("ESC", json_body(json!({ "content": "\u{1b}[31mred" }))),
        ("DEL", json_body(json!({ "content": "a\u{7f}b" }))),
        ("C1 NEL", json_body(json!({ "content": "a\u{85}b" }))),
        (
            "client_id empty",
            json_body(json!({ "content": "hi", "client_id": "" })),
        ),
        (
            "client_id of 65 chars",
            json_body(json!({ "content": "hi", "client_id": "x".repeat(65) })),
        ),
        (
            "client_id non-ASCII",
            json_body(json!({ "content": "hi", "client_id": "naïve" })),
        ),
        (
            "client_id with space",
            json_body(json!({ "content": "hi", "client_id": "has space" })),
        ),
        (
            "client_id with tab",
            json_body(json!({ "content": "hi", "client_id": "tab\there" })),
        ),
        (
            "client_id with NUL",
            json_body(json!({ "content": "hi", "client_id": "a\u{0}" })),
        ),
        (
            "missing Content-Type",
            untyped(r#"{"content": "hi"}"#, None),
        ),
        (
            "text/plain",
            untyped(r#"{"content": "hi"}"#, Some("text/plain")),
        ),
        (
            "form-encoded",
            untyped("content=hi", Some("application/x-www-form-urlencoded")),
        ),
    ]
}

async fn message_bodies_that_break_the_input_rules_are_400(server: Server) {
    let cases = bad_message_bodies()
        .into_iter()
        .map(|(name, body)| case(name, Method::POST, "/messages", body))
        .collect();
    run_table(server, cases).await;
}

async fn replies_that_break_the_input_rules_are_400(server: Server) {
    let mut cases = Vec::new();
    for (name, body) in bad_message_bodies() {
        cases.push(case(
            name,
            Method::POST,
            "/conversations/{conv}/messages",
            body.clone(),
        ));
        cases.push(case(name, Method::POST, "/conversations/{conv}/messages", body).admin());
    }
    run_table(server, cases).await;
}

async fn seen_bodies_that_break_the_input_rules_are_400(server: Server) {
    let path = "/conversations/{conv}/seen";
    let cases = vec![
        case("missing up_to", Method::POST, path, json_body(json!({}))),
        case(
            "up_to not a UUID",
            Method::POST,
            path,
            json_body(json!({ "up_to": "not-a-uuid" })),
        ),
        case(
            "up_to a number",
            Method::POST,
            path,
            json_body(json!({ "up_to": 5 })),
        ),
        case(
            "up_to null",
            Method::POST,
            path,
            json_body(json!({ "up_to": null })),
        ),
        case(
            "up_to of no message",
            Method::POST,
            path,
            json_body(json!({ "up_to": Uuid::now_v7() })),
        ),
        case(
            "up_to of another conversation's message",
            Method::POST,
            path,
            json_body(json!({ "up_to": "{other_msg}" })),
        )
        .admin(),
        case(
            "unknown field",
            Method::POST,
            path,
            json_body(json!({ "up_to": Uuid::now_v7(), "all": true })),
        ),
        case("malformed JSON", Method::POST, path, raw("{")),
        case(
            "missing Content-Type",
            Method::POST,
            path,
            untyped(r#"{"up_to": "x"}"#, None),
        ),
    ];
    run_table(server, cases).await;
}

async fn presence_bodies_that_break_the_input_rules_are_400(server: Server) {
    let path = "/presence";
    let cases = vec![
        case(
            "viewing not a UUID",
            Method::PUT,
            path,
            json_body(json!({ "viewing": "not-a-uuid" })),
        )
        .admin(),
        case(
            "viewing a number",
            Method::PUT,
            path,
            json_body(json!({ "viewing": 5 })),
        )
        .admin(),
        case(
            "unknown field",
            Method::PUT,
            path,
            json_body(json!({ "viewing": null, "status": "online" })),
        )
        .admin(),
        case("malformed JSON", Method::PUT, path, raw("{")).admin(),
        case(
            "missing Content-Type",
            Method::PUT,
            path,
            untyped(r#"{"viewing": null}"#, None),
        )
        .admin(),
        case(
            "viewing no conversation",
            Method::PUT,
            path,
            json_body(json!({ "viewing": Uuid::now_v7() })),
        )
        .admin()
        .expect(StatusCode::NOT_FOUND, "not_found"),
    ];
    run_table(server, cases).await;
}

async fn bodies_over_64_kib_are_413(server: Server) {
    let big = "x".repeat(70 * 1024);
    let huge_json = json!({ "content": big.clone() });
    let mut cases = Vec::new();
    for path in ["/messages", "/conversations/{conv}/messages"] {
        cases.push(
            case(
                "JSON body over 64 KiB",
                Method::POST,
                path,
                json_body(huge_json.clone()),
            )
            .expect(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        );
        cases.push(
            case(
                "garbage body over 64 KiB",
                Method::POST,
                path,
                raw(big.clone()),
            )
            .expect(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        );
    }
    cases.push(
        case(
            "seen body over 64 KiB",
            Method::POST,
            "/conversations/{conv}/seen",
            json_body(json!({ "up_to": big })),
        )
        .expect(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
    );
    run_table(server, cases).await;
}

// ------------------------------------------------------------------ queries

async fn bad_conversation_list_queries_are_400(server: Server) {
    let long_q = "a".repeat(257);
    let long_user = "u".repeat(129);
    let long_cursor = "A".repeat(200);
    let queries: Vec<(&'static str, String)> = vec![
        ("status=bogus", "status=bogus".into()),
        ("status=OPEN", "status=OPEN".into()),
        ("status empty", "status=".into()),
        ("status not UTF-8", "status=%FF".into()),
        ("limit=0", "limit=0".into()),
        ("limit=101", "limit=101".into()),
        ("limit=abc", "limit=abc".into()),
        ("limit=-1", "limit=-1".into()),
        ("limit=1.5", "limit=1.5".into()),
        ("limit empty", "limit=".into()),
        ("limit overflow", "limit=99999999999999999999".into()),
        ("limit twice", "limit=1&limit=2".into()),
        ("awaiting_reply=maybe", "awaiting_reply=maybe".into()),
        ("awaiting_reply=1", "awaiting_reply=1".into()),
        ("cursor=garbage", "cursor=garbage".into()),
        ("cursor empty", "cursor=".into()),
        ("cursor too long", format!("cursor={long_cursor}")),
        (
            "cursor of valid base64 but no cursor",
            "cursor=MTIzLm5vdGF1dWlk".into(),
        ),
        ("q over 256 chars", format!("q={long_q}")),
        ("user_id empty", "user_id=".into()),
        ("user_id over 128 chars", format!("user_id={long_user}")),
        ("user_id with NUL", "user_id=a%00b".into()),
        ("user_id with a control char", "user_id=a%1Bb".into()),
    ];
    let mut cases = Vec::new();
    for (name, query) in queries {
        let path = format!("/conversations?{query}");
        cases.push(case(name, Method::GET, path.clone(), Body::None));
        cases.push(case(name, Method::GET, path, Body::None).admin());
    }
    run_table(server, cases).await;
}

async fn bad_history_queries_are_400(server: Server) {
    let missing = Uuid::now_v7();
    let queries: Vec<(&'static str, String)> = vec![
        ("limit=0", "limit=0".into()),
        ("limit=201", "limit=201".into()),
        ("limit=abc", "limit=abc".into()),
        ("limit=-5", "limit=-5".into()),
        ("before=not-a-uuid", "before=not-a-uuid".into()),
        ("after=not-a-uuid", "after=not-a-uuid".into()),
        ("before empty", "before=".into()),
        (
            "before and after together",
            "before={msg}&after={msg}".into(),
        ),
        ("before of no message", format!("before={missing}")),
        ("after of no message", format!("after={missing}")),
        (
            "before of another conversation's message",
            "before={other_msg}".into(),
        ),
        (
            "after of another conversation's message",
            "after={other_msg}".into(),
        ),
    ];
    let mut cases = Vec::new();
    for (name, query) in queries {
        let path = format!("/conversations/{{conv}}/messages?{query}");
        cases.push(case(name, Method::GET, path.clone(), Body::None));
        cases.push(case(name, Method::GET, path, Body::None).admin());
    }
    run_table(server, cases).await;
}

async fn bad_analytics_ranges_are_400(server: Server) {
    let queries = [
        ("from=not-a-date", "from=not-a-date"),
        ("to=not-a-date", "to=not-a-date"),
        ("from is a bare date", "from=2024-01-01"),
        ("from without an offset", "from=2024-01-01T00:00:00"),
        ("from empty", "from="),
        (
            "from equal to to",
            "from=2024-01-01T00:00:00Z&to=2024-01-01T00:00:00Z",
        ),
        (
            "from after to",
            "from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z",
        ),
        (
            "from after the default to (now)",
            "from=2999-01-01T00:00:00Z",
        ),
        ("to before the epoch by far", "to=-99999-01-01T00:00:00Z"),
    ];
    let cases = queries
        .into_iter()
        .map(|(name, query)| {
            case(name, Method::GET, format!("/analytics?{query}"), Body::None).admin()
        })
        .collect();
    run_table(server, cases).await;
}

// -------------------------------------------------------- paths and headers

async fn malformed_path_ids_are_400(server: Server) {
    let content = || json_body(json!({ "content": "hi" }));
    let mut cases = Vec::new();
    for id in ["not-a-uuid", "123", "{conv}x", "00000000-0000-0000-0000"] {
        cases.push(case(
            "GET conversation",
            Method::GET,
            format!("/conversations/{id}"),
            Body::None,
        ));
        cases.push(case(
            "GET history",
            Method::GET,
            format!("/conversations/{id}/messages"),
            Body::None,
        ));
        cases.push(case(
            "POST message",
            Method::POST,
            format!("/conversations/{id}/messages"),
            content(),
        ));
        cases.push(case(
            "POST seen",
            Method::POST,
            format!("/conversations/{id}/seen"),
            json_body(json!({ "up_to": Uuid::now_v7() })),
        ));
        cases.push(
            case(
                "POST close",
                Method::POST,
                format!("/conversations/{id}/close"),
                Body::None,
            )
            .admin(),
        );
        cases.push(case(
            "POST typing",
            Method::POST,
            format!("/conversations/{id}/typing"),
            Body::None,
        ));
        cases.push(
            case(
                "POST reopen",
                Method::POST,
                format!("/conversations/{id}/reopen"),
                Body::None,
            )
            .admin(),
        );
    }
    run_table(server, cases).await;
}

async fn malformed_last_event_id_is_400(server: Server) {
    let values = [
        "abc",
        "-1",
        "1.5",
        "",
        " ",
        "99999999999999999999",
        "0x10",
        "1,2",
    ];
    let mut cases = Vec::new();
    for value in values {
        cases.push(
            case("Last-Event-ID", Method::GET, "/events", Body::None)
                .header("last-event-id", value),
        );
        cases.push(
            case("Last-Event-ID (admin)", Method::GET, "/events", Body::None)
                .admin()
                .header("last-event-id", value),
        );
    }
    for query in ["abc", "-1", "1.5", "99999999999999999999", "0x10"] {
        let path = format!("/events?last_event_id={query}");
        cases.push(case("last_event_id query", Method::GET, &path, Body::None));
    }
    run_table(server, cases).await;
}

// ----------------------------------------------------- routes and methods

async fn unknown_routes_are_404_problems(server: Server) {
    let not_found = |name, method, path: &str| {
        case(name, method, path, Body::None).expect(StatusCode::NOT_FOUND, "not_found")
    };
    let cases = vec![
        not_found("no such route", Method::GET, "/nope"),
        not_found("no such route (admin)", Method::GET, "/nope").admin(),
        not_found(
            "no such sub-resource",
            Method::GET,
            "/conversations/{conv}/nope",
        ),
        not_found(
            "too deep",
            Method::GET,
            "/conversations/{conv}/messages/{msg}",
        ),
        not_found("under POST /messages", Method::POST, "/messages/extra"),
    ];
    run_table(server, cases).await;
}

async fn wrong_methods_are_405_problems(server: Server) {
    let not_allowed = |name, method, path: &str| {
        case(name, method, path, Body::None)
            .expect(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    };
    let cases = vec![
        not_allowed("GET /messages", Method::GET, "/messages"),
        not_allowed("DELETE /conversations", Method::DELETE, "/conversations"),
        not_allowed("POST /conversations", Method::POST, "/conversations"),
        not_allowed("PUT conversation", Method::PUT, "/conversations/{conv}"),
        not_allowed(
            "DELETE conversation",
            Method::DELETE,
            "/conversations/{conv}",
        ),
        not_allowed(
            "PATCH history",
            Method::PATCH,
            "/conversations/{conv}/messages",
        ),
        not_allowed("GET seen", Method::GET, "/conversations/{conv}/seen"),
        not_allowed("GET close", Method::GET, "/conversations/{conv}/close").admin(),
        not_allowed("POST events", Method::POST, "/events"),
        not_allowed("POST analytics", Method::POST, "/analytics").admin(),
        not_allowed("POST openapi.json", Method::POST, "/openapi.json"),
    ];
    run_table(server, cases).await;
}

// ----------------------------------------------- the other side of the line

/// The rules reject exactly what they say: input at each limit passes.
async fn input_at_the_limits_is_accepted(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let accepted = [
        json!({ "content": "a".repeat(10_000) }),
        json!({ "content": format!("  {}  \n", "b".repeat(10_000)) }),
        json!({ "content": "😀".repeat(10_000) }),
        json!({ "content": "line 1\n\tline 2\nline 3" }),
        json!({ "content": "x", "client_id": "y".repeat(64) }),
        json!({ "content": "x", "client_id": "!~" }),
        json!({ "content": "x", "client_id": null }),
    ];
    let mut conversation = String::new();
    for body in accepted {
        let response = alice.post("/messages", body.clone()).await;
        let status = response.status();
        let sent: Value = response.json().await.expect("JSON");
        assert_eq!(status, StatusCode::CREATED, "{body}: {sent}");
        let expected = body["content"].as_str().expect("content").trim();
        assert_eq!(sent["message"]["content"], expected);
        conversation = sent["conversation"]["id"].as_str().expect("id").to_owned();
    }
    for query in [
        "",
        "?limit=1",
        "?limit=100",
        "?status=open",
        "?status=closed",
        "?status=all",
        "?awaiting_reply=false",
        "?q=",
        "?q=%3F%21",
    ] {
        ada.get_ok(&format!("/conversations{query}")).await;
    }
    for query in ["?limit=1", "?limit=200"] {
        ada.get_ok(&format!("/conversations/{conversation}/messages{query}"))
            .await;
    }
    ada.get_ok("/analytics?from=2000-01-01T00:00:00Z").await;
    ada.get_ok("/analytics?to=2000-01-01T00:00:00.5%2B01:00")
        .await;
    let response = alice
        .request(Method::GET, "/events")
        .header("last-event-id", "0")
        .send()
        .await
        .expect("GET /events");
    assert_eq!(response.status(), StatusCode::OK);
}

/// Whatever a user types into search is plain text on every backend: a
/// 200, never a query-syntax error.
async fn search_text_is_never_query_syntax(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    alice.send("Crème brûlée ² ½ Ⅻ 中文 ٣ नमस्ते İstanbul").await;
    let queries = [
        "%22",
        "*",
        "a*",
        "NEAR(a%20b)",
        "-a",
        "a:b",
        "%27",
        "a%20%26%20b",
        "!a",
        "a%7Cb",
        "%3C-%3E",
        "%5E",
        "AND",
        "OR%20NOT",
        "%C2%B2",
        "%C2%BD",
        "%E2%85%AB",
        "%E4%B8%AD",
        "%D9%A3",
        "%C7%85",
        "%EF%AC%81",
        "%C4%B0",
        "%CD%85",
        "%E0%A4%BE",
        "%E0%A4%A8",
        "%CC%87",
        "%F0%9F%98%80",
        "%E2%80%8B",
        "a%E2%80%8Db",
        "%D9%8B",
        "%E0%B9%8C",
        "ab%CC%81",
        "%E3%80%85",
        "%EF%BC%A1",
    ];
    let mut failures = Vec::new();
    for q in queries {
        for actor in [&alice, &ada] {
            let response = actor.get(&format!("/conversations?q={q}")).await;
            let status = response.status();
            if status != StatusCode::OK {
                let text = response.text().await.unwrap_or_default();
                failures.push(format!("q={q}: {status} {text}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A cursor is opaque; one the server never issued is bad input (400) or
/// an empty page, never a 5xx, even when it decodes to a time no database
/// can store.
async fn forged_cursors_are_never_a_server_error(server: Server) {
    let ada = server.admin("ada");
    server.user("alice").send("hello").await;
    let micros = [
        i64::MIN,
        -400_000_000_000_000_000,
        -210_000_000_000_000_000,
        0,
        253_402_300_800_000_000,
        9_000_000_000_000_000_000,
        i64::MAX,
    ];
    let mut failures = Vec::new();
    for micros in micros {
        let Some(last_message_at) = chrono::DateTime::from_timestamp_micros(micros) else {
            continue;
        };
        let cursor = support_core::InboxCursor {
            last_message_at,
            id: support_core::ConversationId::new(),
        }
        .encode();
        let response = ada.get(&format!("/conversations?cursor={cursor}")).await;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !(status == StatusCode::OK || status == StatusCode::BAD_REQUEST) {
            failures.push(format!(
                "cursor at {last_message_at} ({micros} µs): {status} {text}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `Last-Event-ID` is client input: the largest id a client can send is
/// answered with a `reset` event (it is beyond the log), not a crash.
async fn resuming_after_the_largest_event_id_is_not_a_server_error(server: Server) {
    let alice = server.user("alice");
    alice.send("an event or two").await;
    let last_event_id = i64::MAX.to_string();
    let sent = alice
        .request(Method::GET, "/events")
        .header("last-event-id", &last_event_id)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(error) => panic!(
            "GET /events with Last-Event-ID {last_event_id}: the server dropped the \
             connection ({error})"
        ),
    };
    assert_eq!(response.status(), StatusCode::OK);
    let mut text = String::new();
    let deadline = std::time::Duration::from_secs(5);
    while !text.contains("event: reset") && !text.contains("event:reset") {
        match tokio::time::timeout(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) => panic!("the stream ended without a reset event: {text:?}"),
            Ok(Err(error)) => {
                panic!("the stream broke without a reset event ({error}): {text:?}")
            }
            Err(_) => panic!("no reset event within {deadline:?}: {text:?}"),
        }
    }
}
