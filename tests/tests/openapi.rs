//! The OpenAPI document the server publishes at `/openapi.json`: OpenAPI
//! 3.1, exactly the routes of `support_axum::ROUTES`, every operation with
//! its responses and security, and every status the server really answers
//! documented.
#![allow(missing_docs)]

use std::collections::{BTreeMap, BTreeSet, HashSet};

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use support_e2e::Server;
use uuid::Uuid;

type RouteKey = (String, String);

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(server: &Server) -> Value {
    let response = server.anonymous().get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK, "the document is public");
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    response.json().await.expect("the document is JSON")
}

/// Every operation of the document: (METHOD, path) → operation.
fn operations(doc: &Value) -> BTreeMap<RouteKey, Value> {
    let mut operations = BTreeMap::new();
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for (key, operation) in item {
            if HTTP_METHODS.contains(&key.as_str()) {
                operations.insert((key.to_uppercase(), path.clone()), operation.clone());
            }
        }
    }
    operations
}

fn routes() -> BTreeSet<RouteKey> {
    support_axum::ROUTES
        .iter()
        .map(|(method, path)| (method.as_str().to_owned(), (*path).to_owned()))
        .collect()
}

fn responses(operation: &Value) -> &serde_json::Map<String, Value> {
    operation["responses"]
        .as_object()
        .expect("`responses` is an object")
}

#[tokio::test]
async fn openapi_document_is_openapi_3_1() {
    let server = Server::sqlite().await;
    let doc = document(&server).await;
    let version = doc["openapi"].as_str().expect("`openapi` version");
    assert!(version.starts_with("3.1."), "OpenAPI 3.1.x, got {version}");
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(doc["info"]["version"].is_string());
    // The same document for everyone, authenticated or not.
    let as_admin = server.admin("ada").get_ok("/openapi.json").await;
    assert_eq!(as_admin, doc);
}

#[tokio::test]
async fn documented_operations_are_exactly_the_routes() {
    let server = Server::sqlite().await;
    let doc = document(&server).await;
    let documented: BTreeSet<RouteKey> = operations(&doc).into_keys().collect();
    let routes = routes();
    let missing: Vec<_> = routes.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "documented operations not in ROUTES: {extra:?}"
    );

    // The library's own document names the same operations.
    let library = serde_json::to_value(support_axum::openapi()).expect("serialize");
    let from_library: BTreeSet<RouteKey> = operations(&library).into_keys().collect();
    assert_eq!(from_library, documented);
}

#[tokio::test]
async fn documented_servers_name_the_mount_point() {
    let server = Server::sqlite().await;
    let doc = document(&server).await;
    assert_eq!(
        doc["servers"][0]["url"],
        support_example::API_BASE,
        "the host announces where it mounted the API"
    );
}

#[tokio::test]
async fn every_operation_declares_its_responses() {
    let server = Server::sqlite().await;
    let doc = document(&server).await;
    for ((method, path), operation) in operations(&doc) {
        let what = format!("{method} {path}");
        let responses = responses(&operation);
        assert!(!responses.is_empty(), "{what} declares no responses");
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
            "{what} declares no success response"
        );
        for (status, response) in responses {
            assert!(
                status.parse::<u16>().is_ok_and(|s| (100..600).contains(&s)),
                "{what}: `{status}` is not a status code"
            );
            assert!(
                response["description"].is_string(),
                "{what} {status}: a response needs a description"
            );
        }
        let secured = operation
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty());
        if secured {
            assert!(responses.contains_key("401"), "{what}: secured, so 401");
        }
        if path.contains("{id}") {
            for status in ["400", "404"] {
                assert!(
                    responses.contains_key(status),
                    "{what}: takes an id, so {status}"
                );
            }
        }
        if operation.get("requestBody").is_some() {
            assert!(
                responses.contains_key("400"),
                "{what}: takes a body, so 400"
            );
        }
    }
}

#[tokio::test]
async fn security_schemes_bearer_and_cookie_exist() {
    let server = Server::sqlite().await;
    let doc = document(&server).await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http", "{schemes}");
    assert_eq!(
        schemes["bearer"]["scheme"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("bearer"),
        "{schemes}"
    );
    assert_eq!(schemes["cookie"]["type"], "apiKey", "{schemes}");
    assert_eq!(schemes["cookie"]["in"], "cookie", "{schemes}");
    assert_eq!(
        schemes["cookie"]["name"],
        support_axum::auth::TOKEN_COOKIE,
        "{schemes}"
    );

    // Every operation but the document itself requires one of them.
    for ((method, path), operation) in operations(&doc) {
        let names: HashSet<String> = operation["security"]
            .as_array()
            .map(|requirements| {
                requirements
                    .iter()
                    .filter_map(Value::as_object)
                    .flat_map(|requirement| requirement.keys().cloned())
                    .collect()
            })
            .unwrap_or_default();
        if path == "/openapi.json" {
            assert!(names.is_empty(), "{method} {path} is public");
        } else {
            assert_eq!(
                names,
                HashSet::from(["bearer".to_owned(), "cookie".to_owned()]),
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn documented_path_parameters_match_the_path() {
    let server = Server::sqlite().await;
    let doc = document(&server).await;
    for ((method, path), operation) in operations(&doc) {
        let declared: Vec<&Value> = operation["parameters"]
            .as_array()
            .map(|p| p.iter().filter(|p| p["in"] == "path").collect())
            .unwrap_or_default();
        let names: BTreeSet<&str> = declared.iter().filter_map(|p| p["name"].as_str()).collect();
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        assert_eq!(names, in_path, "{method} {path}");
        for parameter in declared {
            assert_eq!(parameter["required"], true, "{method} {path}");
        }
    }
}

fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref" {
                    if let Some(target) = inner.as_str() {
                        found.push(target);
                    }
                } else {
                    refs(inner, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn schema_references_resolve() {
    let server = Server::sqlite().await;
    let doc = document(&server).await;
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty(), "the document uses component schemas");
    for target in found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{target} does not resolve"
        );
    }
    let problem = &doc["components"]["schemas"]["ProblemBody"]["properties"];
    for field in ["type", "title", "status", "detail", "code"] {
        assert!(
            problem.get(field).is_some(),
            "ProblemBody documents `{field}`"
        );
    }
}

#[tokio::test]
async fn error_responses_are_documented_as_problem_details() {
    let server = Server::sqlite().await;
    let doc = document(&server).await;
    let mut wrong = Vec::new();
    for ((method, path), operation) in operations(&doc) {
        for (status, response) in responses(&operation) {
            if !status.starts_with('4') && !status.starts_with('5') {
                continue;
            }
            let content = response["content"].as_object();
            let problem = content.and_then(|c| c.get("application/problem+json"));
            let schema_ok = problem
                .is_some_and(|media| media["schema"]["$ref"] == "#/components/schemas/ProblemBody");
            if !schema_ok {
                let media: Vec<&String> = content.map(|c| c.keys().collect()).unwrap_or_default();
                wrong.push(format!(
                    "{method} {path} {status}: documented as {media:?}, served as \
                     application/problem+json (ProblemBody)"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} error responses are not documented as problem details:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

// ------------------------------------------- documented vs. really answered

/// A conversation of alice's with an admin reply: (conversation, reply id).
async fn scene(server: &Server) -> (String, String) {
    let (conversation, _) = server.user("alice").send("hello").await;
    let reply = server.admin("ada").reply(&conversation, "hi").await;
    (conversation, reply["id"].as_str().expect("id").to_owned())
}

/// A valid body for a write route.
fn valid_body(path: &str, up_to: &str) -> Option<Value> {
    if path.ends_with("/messages") {
        Some(json!({ "content": "probe" }))
    } else if path.ends_with("/seen") {
        Some(json!({ "up_to": up_to }))
    } else if path == "/preferences" {
        Some(json!({ "preferences": [
            { "kind": "user_message", "channel": "webhook", "enabled": true }
        ] }))
    } else {
        None
    }
}

/// Sends a probe and returns its status; live streams are not read.
async fn status_of(request: RequestBuilder) -> u16 {
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    drop(response);
    status
}

/// What the server really answers on each route, probing the ordinary
/// outcomes: no credentials, a cross-site cookie write, a malformed id, a
/// missing conversation, a malformed and an oversized body, and success for
/// the owner and an admin.
async fn observed_statuses(server: &Server) -> BTreeMap<RouteKey, BTreeSet<u16>> {
    let (conversation, reply) = scene(server).await;
    let big = json!({ "content": "x".repeat(70 * 1024) });
    let mut observed: BTreeMap<RouteKey, BTreeSet<u16>> = BTreeMap::new();
    for (method, path) in support_axum::ROUTES {
        let key = (method.as_str().to_owned(), (*path).to_owned());
        let at = |id: &str| path.replace("{id}", id);
        let real = at(&conversation);
        let body = valid_body(path, &reply);
        let with_body = |request: RequestBuilder| match &body {
            Some(body) => request.json(body),
            None => request,
        };
        let mut probes = vec![
            server.anonymous().request(method.clone(), &real),
            with_body(server.user("alice").request(method.clone(), &real)),
            with_body(server.admin("ada").request(method.clone(), &real)),
        ];
        if *method == Method::POST {
            probes.push(with_body(
                server.cookie_user("alice").request(method.clone(), &real),
            ));
        }
        if path.contains("{id}") {
            probes.push(with_body(
                server
                    .admin("ada")
                    .request(method.clone(), &at("not-a-uuid")),
            ));
            probes.push(with_body(
                server
                    .admin("ada")
                    .request(method.clone(), &at(&Uuid::now_v7().to_string())),
            ));
        }
        if body.is_some() {
            let user = server.user("alice");
            probes.push(user.request(method.clone(), &real).json(&json!({ "x": 1 })));
            probes.push(user.request(method.clone(), &real).json(&big));
        }
        let statuses = observed.entry(key).or_default();
        for probe in probes {
            statuses.insert(status_of(probe).await);
        }
    }
    observed
}

#[tokio::test]
async fn every_status_the_server_answers_is_documented() {
    let server = Server::sqlite().await;
    let doc = document(&server).await;
    let operations = operations(&doc);
    let observed = observed_statuses(&server).await;
    let mut undocumented = Vec::new();
    for ((method, path), statuses) in &observed {
        let operation = operations
            .get(&(method.clone(), path.clone()))
            .unwrap_or_else(|| panic!("{method} {path} is not documented"));
        let documented = responses(operation);
        for status in statuses {
            assert!(*status < 500, "{method} {path} answered {status}");
            if !documented.contains_key(&status.to_string()) {
                undocumented.push(format!("{method} {path} answers {status}"));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "statuses the server answers but the document omits:\n{}",
        undocumented.join("\n")
    );
}
