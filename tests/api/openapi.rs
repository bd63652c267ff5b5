//! `GET /openapi.json` against the running application: valid JSON and OpenAPI 3.1 with every
//! reference resolvable, every route the router serves documented (and every documented route
//! served), and requests built from the document — its examples, and the smallest request its
//! schemas allow — accepted by the server.

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::helpers::{CallFixture, SALON_NUMBER, TestApp};

async fn document(app: &TestApp) -> Value {
    let response = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    serde_json::from_str(&response.text().await.unwrap()).expect("the document is JSON")
}

/// `(METHOD, path)` of every `.route("<path>", <method>(` in `src/http/`: the router's routes,
/// read from its source so a new route without documentation fails here.
fn router_routes() -> BTreeSet<(String, String)> {
    fn walk(dir: &Path, found: &mut BTreeSet<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split(".route(").skip(1) {
                let Some(quoted) = piece.trim_start().strip_prefix('"') else { continue };
                let (route, rest) = quoted.split_once('"').unwrap();
                let method = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
                let method: String = method.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
                found.insert((method.to_uppercase(), route.to_owned()));
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http"), &mut found);
    found
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations.push((method.to_uppercase(), path.clone(), operation));
        }
    }
    operations
}

/// Every `$ref` in `value` (JSON pointers into the document).
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target.clone());
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_names_every_route_the_router_has() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    assert!(targets.len() > 20, "{targets:?}");
    for target in &targets {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{target} is not local"));
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    let operations = operations(&doc);
    let ids: BTreeSet<&str> = operations.iter().map(|(_, _, op)| op["operationId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), operations.len(), "operation ids are unique");
    for (method, path, operation) in &operations {
        assert!(
            operation["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path} documents its answers"
        );
        if method == "POST" {
            let scheme = operation["security"][0]
                .as_object()
                .and_then(|s| s.keys().next())
                .unwrap_or_else(|| panic!("{method} {path} names its signature"));
            assert!(doc["components"]["securitySchemes"].get(scheme).is_some(), "{scheme}");
        }
    }

    let metrics_served = app.http.get(app.url("/metrics")).send().await.unwrap().status() == StatusCode::OK;
    let documented: BTreeSet<(String, String)> = operations.iter().map(|(m, p, _)| (m.clone(), p.clone())).collect();
    for (method, path) in router_routes() {
        if path == "/metrics" && !metrics_served {
            continue;
        }
        assert!(
            documented.contains(&(method.clone(), path.clone())),
            "the router serves {method} {path}, the document does not name it"
        );
    }
    // And everything documented is served: no request reaches the fallback or a wrong method.
    for (method, path) in &documented {
        let url = app.url(&path.replace("{name}", "check_availability_v2"));
        let response =
            if method == "GET" { app.http.get(url) } else { app.http.post(url).body("{}") }.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(body["error"]["code"] != "not_found", "{method} {path} is not routed: {body}");
        if method == "POST" {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} checks its signature first");
        }
    }
    println!(
        "openapi operations={} routes_in_source={} refs={} unresolved=0",
        operations.len(),
        router_routes().len(),
        targets.len()
    );
}

/// The smallest arguments an object schema allows: its required properties, each set to its
/// first documented example or a German word.
fn minimal(schema: &Value, doc: &Value) -> Value {
    let schema = match schema["$ref"].as_str() {
        Some(target) => doc.pointer(&target[1..]).unwrap(),
        None => schema,
    };
    let mut args = Map::new();
    for field in schema["required"].as_array().into_iter().flatten() {
        let field = field.as_str().unwrap();
        let property = &schema["properties"][field];
        let value = property["examples"].get(0).cloned().unwrap_or_else(|| json!("morgen"));
        args.insert(field.to_owned(), value);
    }
    Value::Object(args)
}

/// The answer's keys are documented `Answer` properties, and the required ones are there.
fn assert_is_answer(answer: &Value, doc: &Value, what: &str) {
    let schema = &doc["components"]["schemas"]["Answer"];
    let properties = schema["properties"].as_object().unwrap();
    for key in answer.as_object().unwrap_or_else(|| panic!("{what}: {answer}")).keys() {
        assert!(properties.contains_key(key), "{what}: {key} is not documented");
    }
    for required in schema["required"].as_array().unwrap() {
        assert!(answer.get(required.as_str().unwrap()).is_some(), "{what}: {required} missing in {answer}");
    }
}

#[tokio::test]
async fn requests_built_from_the_document_are_accepted() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let default_mode = &doc["paths"]["/retell/functions"]["post"]["requestBody"]["content"]["application/json"];
    let mut sent = 0;
    for (name, example) in default_mode["examples"].as_object().unwrap() {
        // Each example with a fresh call of the salon the examples name.
        let mut body = example["value"].clone();
        body["call"]["call_id"] = json!(CallFixture::new().call_id);
        let response = app.post_signed("/retell/functions", body.to_string().into_bytes()).await;
        assert_eq!(response.status(), StatusCode::OK, "example {name}");
        assert_is_answer(&response.json().await.unwrap(), &doc, name);
        sent += 1;
    }
    for call_schema in default_mode["schema"]["oneOf"].as_array().unwrap() {
        let envelope = doc.pointer(&call_schema["$ref"].as_str().unwrap()[1..]).unwrap();
        let name = envelope["properties"]["name"]["examples"][0].as_str().unwrap();
        let (status, answer) =
            app.call(&CallFixture::new(), name, minimal(&envelope["properties"]["args"], &doc)).await;
        assert_eq!(status, StatusCode::OK, "{name} with its required arguments: {answer}");
        assert_is_answer(&answer, &doc, name);
        sent += 1;
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(function) = path.strip_prefix("/retell/functions/").filter(|f| !f.starts_with('{')) else { continue };
        let content = &item["post"]["requestBody"]["content"]["application/json"];
        let call = CallFixture::new();
        for args in [content["example"].clone(), minimal(&content["schema"], &doc)] {
            let body = args.to_string();
            let response = app
                .http
                .post(app.url(path))
                .header("content-type", "application/json")
                .header("x-retell-signature", app.sign(body.as_bytes()))
                .header("x-retell-call-id", &call.call_id)
                .header("x-retell-to-number", SALON_NUMBER)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{function} in args-only mode with {args}");
            assert_is_answer(&response.json().await.unwrap(), &doc, function);
            sent += 1;
        }
    }
    let webhook =
        doc["paths"]["/retell/webhook"]["post"]["requestBody"]["content"]["application/json"]["example"].clone();
    assert_eq!(
        app.post_signed("/retell/webhook", webhook.to_string().into_bytes()).await.status(),
        StatusCode::NO_CONTENT
    );
    let calcom =
        doc["paths"]["/calcom/webhook"]["post"]["requestBody"]["content"]["application/json"]["example"].to_string();
    let signature = slotkeeper::calcom::webhook::sign(b"whsec_demo_salon_beispiel", calcom.as_bytes());
    let response = app
        .http
        .post(app.url("/calcom/webhook?tenant=salon-beispiel"))
        .header("content-type", "application/json")
        .header("x-cal-signature-256", signature)
        .body(calcom)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    println!("openapi examples_and_minimal_requests={} webhooks=2 all_accepted", sent);
}
