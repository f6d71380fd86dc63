//! Each endpoint of the HTTP contract (`shared/spec/http-api.md`), over real
//! HTTP, on SQLite and PostgreSQL: status codes, bodies, and the rules each
//! endpoint promises.
#![allow(missing_docs)]

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use support_e2e::{Actor, Server, expect};
use uuid::Uuid;

support_e2e::on_every_backend!(
    user_message_auto_creates_an_open_conversation,
    user_messages_go_to_the_open_conversation_until_it_is_closed,
    repeated_client_id_returns_the_original_without_a_duplicate,
    repeated_client_id_in_a_conversation_returns_the_original,
    admin_cannot_start_a_conversation,
    users_list_their_own_conversations_and_admins_list_all,
    conversation_list_is_most_recent_activity_first,
    conversation_list_filters_by_status,
    conversation_list_filters_awaiting_reply,
    conversation_list_filters_by_user_for_admins_and_only_narrows_for_users,
    conversation_list_searches_message_text,
    conversation_list_pages_to_the_end_with_a_null_cursor,
    conversation_is_read_with_the_callers_view,
    unknown_conversation_is_not_found,
    history_default_page_is_the_newest_messages_oldest_first,
    history_pages_before_and_after_a_message,
    admin_reply_to_a_closed_conversation_reopens_it,
    admin_reply_cannot_reopen_when_the_user_has_another_open_conversation,
    user_cannot_post_into_own_closed_conversation,
    seen_clears_unread_and_records_seen_by,
    seen_never_moves_backwards_and_is_idempotent,
    unread_count_is_exact_per_reader_and_never_capped,
    close_and_reopen_are_idempotent_admin_actions,
    users_cannot_close_or_reopen_their_own_conversation,
    analytics_reports_plausible_figures_to_admins,
    analytics_over_an_empty_range_counts_nothing_but_current_state,
    analytics_is_admin_only,
    event_stream_opens_for_authenticated_callers,
    errors_are_problem_details,
);

// ---------------------------------------------------------------- helpers

/// Asserts a problem-details response: status, media type, every field of
/// the contract, and the stable `code`. Returns the body.
async fn problem(response: Response, status: StatusCode, code: &str) -> Value {
    let actual = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    assert!(
        content_type.starts_with("application/problem+json"),
        "problem media type, got {content_type:?}; body: {text}"
    );
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    for field in ["type", "title", "detail"] {
        assert!(
            body[field].as_str().is_some_and(|s| !s.is_empty()),
            "problem field `{field}` must be a non-empty string: {body}"
        );
    }
    assert_eq!(body["status"], json!(status.as_u16()), "{body}");
    assert_eq!(body["code"], json!(code), "{body}");
    body
}

fn uuid(value: &Value, what: &str) -> Uuid {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} must be a string: {value}"));
    text.parse()
        .unwrap_or_else(|e| panic!("{what} must be a UUID ({e}): {text}"))
}

fn timestamp(value: &Value, what: &str) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} must be a string: {value}"));
    let parsed = DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{what} must be RFC 3339 ({e}): {text}"));
    assert_eq!(
        parsed.offset().local_minus_utc(),
        0,
        "{what} must be UTC: {text}"
    );
    parsed.with_timezone(&Utc)
}

const MESSAGE_FIELDS: [&str; 9] = [
    "id",
    "conversation_id",
    "user_id",
    "content",
    "is_admin_message",
    "created_at",
    "updated_at",
    "client_id",
    "seen_by",
];

const CONVERSATION_FIELDS: [&str; 9] = [
    "id",
    "user_id",
    "status",
    "created_at",
    "updated_at",
    "last_message_at",
    "last_message",
    "unread_count",
    "awaiting_reply",
];

/// Asserts the Message shape of the contract.
fn assert_message(message: &Value) {
    for field in MESSAGE_FIELDS {
        assert!(
            message.get(field).is_some(),
            "message lacks `{field}`: {message}"
        );
    }
    uuid(&message["id"], "message.id");
    uuid(&message["conversation_id"], "message.conversation_id");
    assert!(message["user_id"].is_string(), "{message}");
    assert!(message["content"].is_string(), "{message}");
    assert!(message["is_admin_message"].is_boolean(), "{message}");
    timestamp(&message["created_at"], "message.created_at");
    timestamp(&message["updated_at"], "message.updated_at");
    assert!(
        message["client_id"].is_null() || message["client_id"].is_string(),
        "{message}"
    );
    for receipt in message["seen_by"].as_array().expect("seen_by is an array") {
        assert!(receipt["user_id"].is_string(), "{receipt}");
        timestamp(&receipt["seen_at"], "seen_by.seen_at");
    }
}

/// Asserts the Conversation shape of the contract.
fn assert_conversation(conversation: &Value) {
    for field in CONVERSATION_FIELDS {
        assert!(
            conversation.get(field).is_some(),
            "conversation lacks `{field}`: {conversation}"
        );
    }
    uuid(&conversation["id"], "conversation.id");
    assert!(conversation["user_id"].is_string(), "{conversation}");
    let status = conversation["status"].as_str().unwrap_or_default();
    assert!(status == "open" || status == "closed", "{conversation}");
    timestamp(&conversation["created_at"], "conversation.created_at");
    timestamp(&conversation["updated_at"], "conversation.updated_at");
    timestamp(
        &conversation["last_message_at"],
        "conversation.last_message_at",
    );
    if !conversation["last_message"].is_null() {
        assert_message(&conversation["last_message"]);
    }
    assert!(
        conversation["unread_count"].as_u64().is_some(),
        "unread_count is a non-negative integer: {conversation}"
    );
    assert!(
        conversation["awaiting_reply"].is_boolean(),
        "{conversation}"
    );
}

async fn conversation(actor: &Actor, id: &str) -> Value {
    let body = actor.get_ok(&format!("/conversations/{id}")).await;
    assert_conversation(&body);
    body
}

async fn list(actor: &Actor, query: &str) -> Value {
    let body = actor.get_ok(&format!("/conversations{query}")).await;
    for item in body["items"].as_array().expect("items") {
        assert_conversation(item);
    }
    assert!(
        body["next_cursor"].is_null() || body["next_cursor"].is_string(),
        "{body}"
    );
    body
}

/// Ids of the listed conversations, in order.
async fn list_ids(actor: &Actor, query: &str) -> Vec<String> {
    ids(&list(actor, query).await["items"])
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn history(actor: &Actor, id: &str, query: &str) -> Value {
    let body = actor
        .get_ok(&format!("/conversations/{id}/messages{query}"))
        .await;
    for item in body["items"].as_array().expect("items") {
        assert_message(item);
    }
    assert!(body["has_more"].is_boolean(), "{body}");
    body
}

async fn post_empty(actor: &Actor, path: &str) -> Response {
    actor
        .request(Method::POST, path)
        .send()
        .await
        .expect("POST")
}

async fn close(admin: &Actor, id: &str) -> Value {
    let body = expect(
        post_empty(admin, &format!("/conversations/{id}/close")).await,
        StatusCode::OK,
    )
    .await;
    assert_conversation(&body);
    body
}

async fn reopen(admin: &Actor, id: &str) -> Value {
    let body = expect(
        post_empty(admin, &format!("/conversations/{id}/reopen")).await,
        StatusCode::OK,
    )
    .await;
    assert_conversation(&body);
    body
}

async fn mark_seen(actor: &Actor, id: &str, up_to: &Value) {
    let response = actor
        .post(
            &format!("/conversations/{id}/seen"),
            json!({ "up_to": up_to }),
        )
        .await;
    let status = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(status, StatusCode::NO_CONTENT, "seen: {text}");
    assert!(text.is_empty(), "204 has no body: {text}");
}

fn unread(conversation: &Value) -> u64 {
    conversation["unread_count"].as_u64().expect("unread_count")
}

fn seen_by_ids(message: &Value) -> Vec<String> {
    message["seen_by"]
        .as_array()
        .expect("seen_by")
        .iter()
        .map(|r| r["user_id"].as_str().expect("user_id").to_owned())
        .collect()
}

// ---------------------------------------------------------- POST /messages

async fn user_message_auto_creates_an_open_conversation(server: Server) {
    let alice = server.user("alice");
    let body = alice
        .post_ok(
            "/messages",
            json!({ "content": "  Hello <b>support</b> & \"friends\"\n" }),
            StatusCode::CREATED,
        )
        .await;
    let conversation = &body["conversation"];
    let message = &body["message"];
    assert_conversation(conversation);
    assert_message(message);

    assert_eq!(conversation["user_id"], "alice");
    assert_eq!(conversation["status"], "open");
    assert_eq!(conversation["awaiting_reply"], true);
    assert_eq!(conversation["unread_count"], 0);
    assert_eq!(conversation["last_message"]["id"], message["id"]);

    assert_eq!(message["conversation_id"], conversation["id"]);
    assert_eq!(message["user_id"], "alice");
    assert_eq!(message["is_admin_message"], false);
    assert_eq!(message["client_id"], Value::Null);
    assert_eq!(message["seen_by"], json!([]));
    // Trimmed, otherwise verbatim: no escaping, no markup stripped.
    assert_eq!(message["content"], "Hello <b>support</b> & \"friends\"");

    let id = conversation["id"].as_str().expect("id");
    let stored = history(&alice, id, "").await;
    assert_eq!(stored["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(stored["items"][0]["content"], message["content"]);
}

async fn user_messages_go_to_the_open_conversation_until_it_is_closed(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (first, _) = alice.send("one").await;
    let (again, _) = alice.send("two").await;
    assert_eq!(first, again, "an open conversation takes the next message");

    close(&ada, &first).await;
    let (fresh, _) = alice.send("three").await;
    assert_ne!(fresh, first, "after a close, a new conversation starts");
    assert_eq!(conversation(&alice, &first).await["status"], "closed");
    assert_eq!(conversation(&alice, &fresh).await["status"], "open");
    let mine = list_ids(&alice, "").await;
    assert_eq!(mine.len(), 2, "{mine:?}");
}

async fn repeated_client_id_returns_the_original_without_a_duplicate(server: Server) {
    let alice = server.user("alice");
    let bob = server.user("bob");
    let send = json!({ "content": "charge me once", "client_id": "retry-42" });
    let first = alice
        .post_ok("/messages", send.clone(), StatusCode::CREATED)
        .await;
    assert_eq!(first["message"]["client_id"], "retry-42");
    let again = alice
        .post_ok("/messages", send.clone(), StatusCode::OK)
        .await;
    assert_eq!(again["message"]["id"], first["message"]["id"]);
    assert_eq!(again["conversation"]["id"], first["conversation"]["id"]);
    assert_eq!(again["message"]["content"], "charge me once");
    assert_message(&again["message"]);
    assert_conversation(&again["conversation"]);

    let id = first["conversation"]["id"].as_str().expect("id");
    let stored = history(&alice, id, "").await;
    assert_eq!(
        stored["items"].as_array().map(Vec::len),
        Some(1),
        "no duplicate: {stored}"
    );

    // The key is per author: another user's same key is a new message.
    let other = bob.post_ok("/messages", send, StatusCode::CREATED).await;
    assert_ne!(other["message"]["id"], first["message"]["id"]);
}

async fn repeated_client_id_in_a_conversation_returns_the_original(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (id, _) = alice.send("hi").await;
    let path = format!("/conversations/{id}/messages");
    let reply = json!({ "content": "on it", "client_id": "ada-1" });
    let first = ada.post_ok(&path, reply.clone(), StatusCode::CREATED).await;
    assert_message(&first);
    assert_eq!(first["is_admin_message"], true);
    assert_eq!(first["client_id"], "ada-1");
    let again = ada.post_ok(&path, reply, StatusCode::OK).await;
    assert_eq!(again["id"], first["id"]);
    let stored = history(&alice, &id, "").await;
    assert_eq!(
        stored["items"].as_array().map(Vec::len),
        Some(2),
        "{stored}"
    );
}

async fn admin_cannot_start_a_conversation(server: Server) {
    let ada = server.admin("ada");
    problem(
        ada.post("/messages", json!({ "content": "hello" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let all = list(&ada, "").await;
    assert_eq!(all["items"], json!([]), "nothing was created");
}

// ------------------------------------------------------ GET /conversations

async fn users_list_their_own_conversations_and_admins_list_all(server: Server) {
    let alice = server.user("alice");
    let bob = server.user("bob");
    let ada = server.admin("ada");
    let (a, _) = alice.send("from alice").await;
    let (b, _) = bob.send("from bob").await;

    assert_eq!(list_ids(&alice, "").await, vec![a.clone()]);
    assert_eq!(list_ids(&bob, "").await, vec![b.clone()]);
    let all: HashSet<String> = list_ids(&ada, "").await.into_iter().collect();
    assert_eq!(all, HashSet::from([a, b]));
    assert_eq!(list(&ada, "").await["next_cursor"], Value::Null);
}

async fn conversation_list_is_most_recent_activity_first(server: Server) {
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    let ada = server.admin("ada");
    let (a, _) = alice.send("first").await;
    let (b, _) = bob.send("second").await;
    let (c, _) = carol.send("third").await;
    assert_eq!(
        list_ids(&ada, "").await,
        vec![c.clone(), b.clone(), a.clone()]
    );
    alice.send("alice again").await;
    assert_eq!(
        list_ids(&ada, "").await,
        vec![a.clone(), c.clone(), b.clone()]
    );
    ada.reply(&b, "answer").await;
    let listed = list(&ada, "").await;
    assert_eq!(ids(&listed["items"]), vec![b, a, c]);
    let times: Vec<DateTime<Utc>> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| timestamp(&item["last_message_at"], "last_message_at"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

async fn conversation_list_filters_by_status(server: Server) {
    let alice = server.user("alice");
    let bob = server.user("bob");
    let ada = server.admin("ada");
    let (a, _) = alice.send("closing soon").await;
    let (b, _) = bob.send("still open").await;
    close(&ada, &a).await;

    let set = |v: Vec<String>| v.into_iter().collect::<HashSet<_>>();
    assert_eq!(list_ids(&ada, "?status=open").await, vec![b.clone()]);
    assert_eq!(list_ids(&ada, "?status=closed").await, vec![a.clone()]);
    assert_eq!(
        set(list_ids(&ada, "?status=all").await),
        HashSet::from([a.clone(), b.clone()])
    );
    assert_eq!(
        set(list_ids(&ada, "").await),
        HashSet::from([a.clone(), b]),
        "the default is all"
    );
    assert_eq!(list_ids(&alice, "?status=closed").await, vec![a]);
    assert!(list_ids(&alice, "?status=open").await.is_empty());
}

async fn conversation_list_filters_awaiting_reply(server: Server) {
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    let ada = server.admin("ada");
    let (a, _) = alice.send("answered").await;
    ada.reply(&a, "here you go").await;
    let (b, _) = bob.send("waiting").await;
    let (c, _) = carol.send("closed while waiting").await;
    close(&ada, &c).await;

    assert_eq!(conversation(&ada, &a).await["awaiting_reply"], false);
    assert_eq!(conversation(&ada, &b).await["awaiting_reply"], true);
    assert_eq!(
        conversation(&ada, &c).await["awaiting_reply"],
        false,
        "awaiting_reply requires open"
    );
    assert_eq!(
        list_ids(&ada, "?awaiting_reply=true").await,
        vec![b.clone()]
    );
    assert_eq!(list_ids(&ada, "?awaiting_reply=false").await.len(), 3);
    assert!(list_ids(&alice, "?awaiting_reply=true").await.is_empty());
    assert_eq!(list_ids(&bob, "?awaiting_reply=true").await, vec![b]);
}

async fn conversation_list_filters_by_user_for_admins_and_only_narrows_for_users(server: Server) {
    let alice = server.user("alice");
    let bob = server.user("bob");
    let ada = server.admin("ada");
    let (a, _) = alice.send("mine").await;
    let (b, _) = bob.send("his").await;
    assert_eq!(list_ids(&ada, "?user_id=bob").await, vec![b]);
    assert_eq!(list_ids(&ada, "?user_id=alice").await, vec![a.clone()]);
    assert!(list_ids(&ada, "?user_id=nobody").await.is_empty());
    assert_eq!(list_ids(&alice, "?user_id=alice").await, vec![a]);
    let widened = list(&alice, "?user_id=bob").await;
    assert_eq!(
        widened["items"],
        json!([]),
        "a user asking for another's conversations gets none"
    );
}

async fn conversation_list_searches_message_text(server: Server) {
    let alice = server.user("alice");
    let bob = server.user("bob");
    let ada = server.admin("ada");
    let (a, _) = alice.send("My invoice total is wrong").await;
    let (b, _) = bob.send("Please reset my password").await;
    ada.reply(&b, "Refund issued for the duplicate charge")
        .await;

    assert_eq!(list_ids(&ada, "?q=invoice").await, vec![a.clone()]);
    assert_eq!(list_ids(&ada, "?q=INVOICE").await, vec![a.clone()]);
    assert_eq!(list_ids(&ada, "?q=password").await, vec![b.clone()]);
    assert_eq!(
        list_ids(&ada, "?q=refund").await,
        vec![b.clone()],
        "admin messages are searched too"
    );
    assert!(list_ids(&ada, "?q=zebra").await.is_empty());
    assert_eq!(list_ids(&alice, "?q=invoice").await, vec![a]);
    assert!(
        list_ids(&alice, "?q=password").await.is_empty(),
        "search never reaches another user's conversations"
    );
    assert_eq!(list_ids(&ada, "?q=password&status=open").await, vec![b]);
}

async fn conversation_list_pages_to_the_end_with_a_null_cursor(server: Server) {
    let ada = server.admin("ada");
    let mut created = Vec::new();
    for n in 0..5 {
        let (id, _) = server.user(&format!("user-{n}")).send("page me").await;
        created.push(id);
    }
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = list(&ada, &query).await;
        let items = ids(&page["items"]);
        pages.push(items.len());
        seen.extend(items);
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(pages.len() <= 5, "paging must end: {pages:?}");
    }
    assert_eq!(pages, vec![2, 2, 1]);
    assert_eq!(seen, newest_first, "every conversation once, in order");

    let exact = list(&ada, "?limit=5").await;
    assert_eq!(ids(&exact["items"]), newest_first);
    assert_eq!(
        exact["next_cursor"],
        Value::Null,
        "a page that ends the list has no next cursor"
    );
    let default = list(&ada, "").await;
    assert_eq!(ids(&default["items"]).len(), 5);
    assert_eq!(default["next_cursor"], Value::Null);
}

// -------------------------------------------------- GET /conversations/{id}

async fn conversation_is_read_with_the_callers_view(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (id, message) = alice.send("hello").await;

    let mine = conversation(&alice, &id).await;
    assert_eq!(mine["id"], id.as_str());
    assert_eq!(mine["user_id"], "alice");
    assert_eq!(mine["status"], "open");
    assert_eq!(mine["last_message"]["id"], message["id"]);
    assert_eq!(mine["unread_count"], 0);
    assert_eq!(mine["awaiting_reply"], true);

    let theirs = conversation(&ada, &id).await;
    assert_eq!(theirs["unread_count"], 1, "the admin has not read it");

    let reply = ada.reply(&id, "hi alice").await;
    let mine = conversation(&alice, &id).await;
    assert_eq!(mine["unread_count"], 1);
    assert_eq!(mine["awaiting_reply"], false);
    assert_eq!(mine["last_message"]["id"], reply["id"]);
    assert_eq!(mine["last_message_at"], reply["created_at"]);
    let theirs = conversation(&ada, &id).await;
    assert_eq!(theirs["unread_count"], 0, "replying marks what it answers");
}

async fn unknown_conversation_is_not_found(server: Server) {
    let ada = server.admin("ada");
    let alice = server.user("alice");
    let missing = Uuid::now_v7();
    for actor in [&ada, &alice] {
        problem(
            actor.get(&format!("/conversations/{missing}")).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        problem(
            actor
                .get(&format!("/conversations/{missing}/messages"))
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    problem(
        ada.post(
            &format!("/conversations/{missing}/messages"),
            json!({ "content": "anyone?" }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        post_empty(&ada, &format!("/conversations/{missing}/close")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

// ------------------------------------------ GET /conversations/{id}/messages

/// Alice's conversation: five user messages, an admin reply, then
/// one more user message; returns its id and the message ids, oldest first.
async fn seven_messages(server: &Server) -> (String, Vec<String>) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (id, _) = alice.send("m1").await;
    for n in 2..=5 {
        alice.send(&format!("m{n}")).await;
    }
    ada.reply(&id, "m6").await;
    alice.send("m7").await;
    let all = history(&alice, &id, "").await;
    let contents: Vec<&str> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["content"].as_str().expect("content"))
        .collect();
    assert_eq!(contents, ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
    (id, ids(&all["items"]))
}

fn contents(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["content"].as_str().expect("content").to_owned())
        .collect()
}

async fn history_default_page_is_the_newest_messages_oldest_first(server: Server) {
    let (id, _) = seven_messages(&server).await;
    let alice = server.user("alice");
    let ada = server.admin("ada");

    let all = history(&alice, &id, "").await;
    assert_eq!(all["has_more"], false);
    let times: Vec<DateTime<Utc>> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| timestamp(&m["created_at"], "created_at"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    assert!(
        all["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|m| m["conversation_id"] == id.as_str())
    );
    assert_eq!(all["items"][5]["is_admin_message"], true);
    assert_eq!(all["items"][5]["user_id"], "ada");

    let newest = history(&alice, &id, "?limit=3").await;
    assert_eq!(contents(&newest), ["m5", "m6", "m7"]);
    assert_eq!(newest["has_more"], true, "older messages exist");
    assert_eq!(history(&alice, &id, "?limit=7").await["has_more"], false);
    assert_eq!(
        history(&ada, &id, "?limit=200").await["items"],
        all["items"],
        "admins read the same history"
    );
}

async fn history_pages_before_and_after_a_message(server: Server) {
    let (id, m) = seven_messages(&server).await;
    let alice = server.user("alice");
    let page = |query: String| {
        let alice = alice.clone();
        let id = id.clone();
        async move { history(&alice, &id, &query).await }
    };

    let before = page(format!("?before={}&limit=3", m[4])).await;
    assert_eq!(contents(&before), ["m2", "m3", "m4"]);
    assert_eq!(before["has_more"], true);
    let before = page(format!("?before={}&limit=3", m[3])).await;
    assert_eq!(contents(&before), ["m1", "m2", "m3"]);
    assert_eq!(before["has_more"], false);
    let before = page(format!("?before={}", m[0])).await;
    assert_eq!(before["items"], json!([]));
    assert_eq!(before["has_more"], false);

    let after = page(format!("?after={}&limit=3", m[2])).await;
    assert_eq!(contents(&after), ["m4", "m5", "m6"]);
    assert_eq!(after["has_more"], true);
    let after = page(format!("?after={}&limit=3", m[3])).await;
    assert_eq!(contents(&after), ["m5", "m6", "m7"]);
    assert_eq!(after["has_more"], false);
    let after = page(format!("?after={}", m[6])).await;
    assert_eq!(after["items"], json!([]));
    assert_eq!(after["has_more"], false);

    // Walking backwards from the newest page reaches the first message.
    let mut walked = Vec::new();
    let mut current = page("?limit=2".to_owned()).await;
    loop {
        let mut chunk = contents(&current);
        chunk.extend(walked);
        walked = chunk;
        if current["has_more"] == false {
            break;
        }
        let oldest = current["items"][0]["id"].as_str().expect("id").to_owned();
        current = page(format!("?limit=2&before={oldest}")).await;
    }
    assert_eq!(walked, ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
}

// ----------------------------------------- POST /conversations/{id}/messages

async fn admin_reply_to_a_closed_conversation_reopens_it(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (id, _) = alice.send("help").await;
    assert_eq!(close(&ada, &id).await["status"], "closed");

    let reply = ada
        .post_ok(
            &format!("/conversations/{id}/messages"),
            json!({ "content": "one more thing" }),
            StatusCode::CREATED,
        )
        .await;
    assert_message(&reply);
    assert_eq!(reply["conversation_id"], id.as_str());
    assert_eq!(reply["user_id"], "ada");
    assert_eq!(reply["is_admin_message"], true);
    let reopened = conversation(&alice, &id).await;
    assert_eq!(reopened["status"], "open");
    assert_eq!(reopened["last_message"]["id"], reply["id"]);

    // Reopened, it takes the user's next message again.
    let (next, _) = alice.send("thanks").await;
    assert_eq!(next, id);
}

async fn admin_reply_cannot_reopen_when_the_user_has_another_open_conversation(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (old, _) = alice.send("old issue").await;
    close(&ada, &old).await;
    let (new, _) = alice.send("new issue").await;
    assert_ne!(old, new);
    problem(
        ada.post(
            &format!("/conversations/{old}/messages"),
            json!({ "content": "about the old one" }),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    problem(
        post_empty(&ada, &format!("/conversations/{old}/reopen")).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(conversation(&alice, &old).await["status"], "closed");
    assert_eq!(
        history(&alice, &old, "").await["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

async fn user_cannot_post_into_own_closed_conversation(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (id, _) = alice.send("first").await;
    let path = format!("/conversations/{id}/messages");
    let written = alice
        .post_ok(&path, json!({ "content": "second" }), StatusCode::CREATED)
        .await;
    assert_message(&written);
    assert_eq!(written["is_admin_message"], false);

    close(&ada, &id).await;
    problem(
        alice.post(&path, json!({ "content": "third" })).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let after = history(&alice, &id, "").await;
    assert_eq!(contents(&after), ["first", "second"]);
    assert_eq!(conversation(&alice, &id).await["status"], "closed");
}

// ------------------------------------------- POST /conversations/{id}/seen

async fn seen_clears_unread_and_records_seen_by(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (id, _) = alice.send("one").await;
    alice.send("two").await;
    alice.send("three").await;
    assert_eq!(unread(&conversation(&ada, &id).await), 3);

    let page = history(&ada, &id, "").await;
    mark_seen(&ada, &id, &page["items"][1]["id"]).await;
    assert_eq!(unread(&conversation(&ada, &id).await), 1);
    let page = history(&alice, &id, "").await;
    assert_eq!(seen_by_ids(&page["items"][0]), ["ada"]);
    assert_eq!(seen_by_ids(&page["items"][1]), ["ada"]);
    assert!(seen_by_ids(&page["items"][2]).is_empty());
    let seen_at = timestamp(&page["items"][0]["seen_by"][0]["seen_at"], "seen_at");
    let created = timestamp(&page["items"][0]["created_at"], "created_at");
    assert!(seen_at >= created, "seen after written");
    assert_eq!(
        unread(&conversation(&alice, &id).await),
        0,
        "the user's own messages are never unread to them"
    );

    mark_seen(&ada, &id, &page["items"][2]["id"]).await;
    assert_eq!(unread(&conversation(&ada, &id).await), 0);
    let listed = list(&ada, "").await;
    assert_eq!(listed["items"][0]["unread_count"], 0);
    assert_eq!(seen_by_ids(&listed["items"][0]["last_message"]), ["ada"]);

    // The other direction: the user reads the admin's reply.
    let reply = ada.reply(&id, "answer").await;
    assert_eq!(unread(&conversation(&alice, &id).await), 1);
    mark_seen(&alice, &id, &reply["id"]).await;
    assert_eq!(unread(&conversation(&alice, &id).await), 0);
    let page = history(&ada, &id, "").await;
    assert_eq!(seen_by_ids(&page["items"][3]), ["alice"]);
    assert_eq!(
        seen_by_ids(&page["items"][0]),
        ["ada"],
        "the user's mark does not count as a reader of their own messages"
    );
}

async fn seen_never_moves_backwards_and_is_idempotent(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (id, _) = alice.send("one").await;
    alice.send("two").await;
    let page = history(&ada, &id, "").await;
    let (first, second) = (&page["items"][0]["id"], &page["items"][1]["id"]);

    mark_seen(&ada, &id, second).await;
    let marked = history(&alice, &id, "").await;
    mark_seen(&ada, &id, second).await;
    mark_seen(&ada, &id, first).await;
    assert_eq!(unread(&conversation(&ada, &id).await), 0);
    assert_eq!(
        history(&alice, &id, "").await,
        marked,
        "repeating or going back changes nothing"
    );
}

async fn unread_count_is_exact_per_reader_and_never_capped(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let bea = server.admin("bea");
    let (id, _) = alice.send("m0").await;
    for n in 1..120 {
        alice.send(&format!("m{n}")).await;
    }
    assert_eq!(unread(&conversation(&ada, &id).await), 120);
    let newest = history(&ada, &id, "?limit=1").await;
    mark_seen(&ada, &id, &newest["items"][0]["id"]).await;
    assert_eq!(unread(&conversation(&ada, &id).await), 0);
    assert_eq!(
        unread(&conversation(&bea, &id).await),
        120,
        "another admin's reading does not count for bea"
    );
    let listed = list(&bea, "").await;
    assert_eq!(listed["items"][0]["unread_count"], 120);
}

// ------------------------------------ POST /conversations/{id}/close, reopen

async fn close_and_reopen_are_idempotent_admin_actions(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (id, _) = alice.send("please resolve").await;

    let closed = close(&ada, &id).await;
    assert_eq!(closed["id"], id.as_str());
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["awaiting_reply"], false);
    let again = close(&ada, &id).await;
    assert_eq!(again["status"], "closed");
    assert_eq!(
        again["updated_at"], closed["updated_at"],
        "closing a closed conversation changes nothing"
    );
    assert_eq!(conversation(&alice, &id).await["status"], "closed");

    let reopened = reopen(&ada, &id).await;
    assert_eq!(reopened["status"], "open");
    assert_eq!(reopened["awaiting_reply"], true);
    let again = reopen(&ada, &id).await;
    assert_eq!(again["status"], "open");
    assert_eq!(again["updated_at"], reopened["updated_at"]);
    assert_eq!(conversation(&alice, &id).await["status"], "open");
}

async fn users_cannot_close_or_reopen_their_own_conversation(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let (id, _) = alice.send("mine").await;
    problem(
        post_empty(&alice, &format!("/conversations/{id}/close")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(conversation(&alice, &id).await["status"], "open");
    close(&ada, &id).await;
    problem(
        post_empty(&alice, &format!("/conversations/{id}/reopen")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(conversation(&alice, &id).await["status"], "closed");
}

// ---------------------------------------------------------- GET /analytics

const ANALYTICS_COUNTS: [&str; 6] = [
    "conversations_created",
    "conversations_closed",
    "messages_from_users",
    "messages_from_admins",
    "open_now",
    "awaiting_reply_now",
];

fn assert_stats(stats: &Value, what: &str) {
    for field in ["mean", "median", "p90"] {
        let value = &stats[field];
        assert!(
            value.is_null() || value.as_f64().is_some_and(|v| v >= 0.0),
            "{what}.{field} is null or a non-negative number: {stats}"
        );
    }
}

async fn analytics_reports_plausible_figures_to_admins(server: Server) {
    let ada = server.admin("ada");
    // Alice: answered and closed. Bob: waiting. Carol: answered, open.
    let (a, _) = server.user("alice").send("a1").await;
    ada.reply(&a, "r1").await;
    close(&ada, &a).await;
    server.user("bob").send("b1").await;
    server.user("bob").send("b2").await;
    let (c, _) = server.user("carol").send("c1").await;
    ada.reply(&c, "r2").await;

    let report = ada.get_ok("/analytics").await;
    for field in ANALYTICS_COUNTS {
        assert!(report[field].as_i64().is_some(), "`{field}`: {report}");
    }
    assert_eq!(report["conversations_created"], 3, "{report}");
    assert_eq!(report["conversations_closed"], 1, "{report}");
    assert_eq!(report["messages_from_users"], 4, "{report}");
    assert_eq!(report["messages_from_admins"], 2, "{report}");
    assert_eq!(report["open_now"], 2, "{report}");
    assert_eq!(report["awaiting_reply_now"], 1, "{report}");

    let first = &report["first_response_seconds"];
    assert_stats(first, "first_response_seconds");
    let resolution = &report["resolution_seconds"];
    assert_stats(resolution, "resolution_seconds");
    for stats in [first, resolution] {
        let mean = stats["mean"].as_f64().expect("answered, so a mean");
        assert!(mean < 600.0, "seconds, not micros: {stats}");
        let median = stats["median"].as_f64().expect("median");
        let p90 = stats["p90"].as_f64().expect("p90");
        assert!(median <= p90, "{stats}");
    }
    assert_eq!(
        resolution["mean"], resolution["median"],
        "one resolution: mean = median"
    );

    // The default range is the last 30 days.
    let from = timestamp(&report["from"], "from");
    let to = timestamp(&report["to"], "to");
    assert_eq!((to - from).num_days(), 30, "{report}");
    assert!((Utc::now() - to).num_seconds().abs() < 60, "{report}");
}

async fn analytics_over_an_empty_range_counts_nothing_but_current_state(server: Server) {
    let ada = server.admin("ada");
    server.user("alice").send("waiting").await;
    let report = ada
        .get_ok("/analytics?from=2001-01-01T00:00:00Z&to=2001-02-01T00:00:00Z")
        .await;
    assert_eq!(report["conversations_created"], 0, "{report}");
    assert_eq!(report["conversations_closed"], 0, "{report}");
    assert_eq!(report["messages_from_users"], 0, "{report}");
    assert_eq!(report["messages_from_admins"], 0, "{report}");
    assert_eq!(report["open_now"], 1, "`now` ignores the range: {report}");
    assert_eq!(report["awaiting_reply_now"], 1, "{report}");
    for stats in ["first_response_seconds", "resolution_seconds"] {
        assert_stats(&report[stats], stats);
        assert_eq!(report[stats]["mean"], Value::Null, "no data: {report}");
        assert_eq!(report[stats]["median"], Value::Null, "{report}");
        assert_eq!(report[stats]["p90"], Value::Null, "{report}");
    }
    let from = timestamp(&report["from"], "from");
    assert_eq!(from.to_rfc3339(), "2001-01-01T00:00:00+00:00");

    // An offset other than Z is accepted and means the same instant.
    let shifted = ada
        .get_ok("/analytics?from=2001-01-01T02:00:00%2B02:00&to=2001-02-01T00:00:00Z")
        .await;
    assert_eq!(timestamp(&shifted["from"], "from"), from);
}

async fn analytics_is_admin_only(server: Server) {
    let alice = server.user("alice");
    alice.send("hello").await;
    problem(
        alice.get("/analytics").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

// --------------------------------------------------------------- GET /events

async fn event_stream_opens_for_authenticated_callers(server: Server) {
    for actor in [server.user("alice"), server.admin("ada")] {
        let response = actor.get("/events").await;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        drop(response);
    }
    problem(
        server.anonymous().get("/events").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

// ------------------------------------------------------------------- errors

async fn errors_are_problem_details(server: Server) {
    let alice = server.user("alice");
    let bob = server.user("bob");
    let ada = server.admin("ada");
    let (id, _) = alice.send("hello").await;
    close(&ada, &id).await;

    let unauthenticated = problem(
        server.anonymous().get("/conversations").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_eq!(unauthenticated["title"], "Unauthorized");
    problem(
        server.forged("ada").get("/conversations").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    problem(
        ada.post("/messages", json!({ "content": "x" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        bob.get(&format!("/conversations/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        alice
            .post(
                &format!("/conversations/{id}/messages"),
                json!({ "content": "reopen please" }),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    problem(
        alice.post("/messages", json!({ "content": "" })).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    let big = "x".repeat(70 * 1024);
    problem(
        alice.post("/messages", json!({ "content": big })).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
}
