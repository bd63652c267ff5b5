//! `GET /openapi.json`: the OpenAPI 3.1 description of the public HTTP API, built from the code.
//!
//! * The Retell function arguments, the answer, the call object and both envelopes are JSON
//!   Schemas derived by `schemars` from the serde types the handlers really use
//!   (`booking::answer`, `http::retell`), read with serde's own attribute rules: a field the
//!   server requires is required here, a field it defaults is optional, and the lenient text
//!   fields are described by the very enums that parse them.
//! * Default mode is one operation whose body is `oneOf` the seven envelopes (one per function);
//!   "args only" mode is one operation per function path with that function's own argument
//!   schema, plus the generic `/retell/functions/{name}` the router serves.
//! * What has no serde type of ours (the Cal.com webhook body, error and health bodies) is
//!   written here and kept honest by tests: the unit tests parse the Cal.com schema's example
//!   field by field with the real parser, and the schema-driven fuzz (`tests/api/schemathesis.rs`)
//!   validates every response the server gives against this document.
//! * Admin pages (`/admin/*`: HTML behind a session login) are not part of this API.
//!
//! The document is built once, when the router is built, and served as bytes.

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::AppState;
use super::retell::{CALL_ID_PATTERN, FunctionEnvelope, InboundEnvelope, WebhookEnvelope};
use crate::booking::Function;
use crate::booking::answer::*;

mod calcom;
mod health;

const SCHEMAS: &str = "/components/schemas";

/// The route serving `document(with_metrics)`.
pub fn routes(with_metrics: bool) -> Router<AppState> {
    let bytes = Bytes::from(serde_json::to_vec_pretty(&document(with_metrics)).expect("a JSON value serialises"));
    Router::new().route(
        "/openapi.json",
        get(move || {
            let bytes = bytes.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], bytes).into_response() }
        }),
    )
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#{SCHEMAS}/{name}") })
}

/// A generator for components (`#/components/schemas/<Type>`) under serde's `contract`.
fn generator(settings: SchemaSettings) -> SchemaGenerator {
    settings
        .with(|s| {
            s.definitions_path = SCHEMAS.into();
            s.meta_schema = None;
        })
        .into_generator()
}

/// The argument type of a function, as a component name (the match is exhaustive on purpose:
/// a new function does not compile until it is documented).
fn args_schema(function: Function, generator: &mut SchemaGenerator) -> Value {
    let schema = match function {
        Function::CheckAvailability | Function::FindAlternatives => generator.subschema_for::<CheckAvailabilityArgs>(),
        Function::StartBooking => generator.subschema_for::<StartBookingArgs>(),
        Function::CancelBooking => generator.subschema_for::<CancelBookingArgs>(),
        Function::RescheduleBooking => generator.subschema_for::<RescheduleBookingArgs>(),
        Function::ReleaseReservation => generator.subschema_for::<ReleaseReservationArgs>(),
        Function::GetAppointments => generator.subschema_for::<GetAppointmentsArgs>(),
    };
    schema.to_value()
}

/// An arguments example per function, accepted by the server (`tests/api/openapi.rs` sends each).
pub fn example_args(function: Function) -> Value {
    match function {
        Function::CheckAvailability => json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10 Uhr"}),
        Function::FindAlternatives => json!({"service": "Dauerwelle", "date": "nächsten Freitag"}),
        Function::StartBooking => json!({"reservation_token": "rsv_3f9c2a7d1e", "customer_name": "Erika Mustermann"}),
        Function::CancelBooking => json!({"date": "Freitag", "reason": "krank"}),
        Function::RescheduleBooking => json!({"new_date": "Freitag", "new_time": "halb vier"}),
        Function::ReleaseReservation => json!({"reservation_token": "rsv_3f9c2a7d1e"}),
        Function::GetAppointments => json!({}),
    }
}

/// The `call` object of the examples (the demo salon's number from `config/default.toml`).
pub fn example_call() -> Value {
    json!({"call_id": "call_8d1f0c2b7e4a4f4d9a51", "agent_id": "agent_demo", "from_number": "+4915112345678", "to_number": "+4930123456789"})
}

/// A pattern for what `Function::parse` accepts: the name in any ASCII case, optionally `_v<N>`.
fn name_pattern(name: &str) -> String {
    let letters: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else {
                c.to_string()
            }
        })
        .collect();
    format!("^{letters}(_v[0-9]+)?$")
}

fn camel(name: &str) -> String {
    name.split('_').map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect()
}

/// The whole document. `/metrics` is listed only when the router serves it.
pub fn document(with_metrics: bool) -> Value {
    let mut requests = generator(SchemaSettings::draft2020_12().for_deserialize());
    let mut answers = generator(SchemaSettings::draft2020_12().for_serialize());
    let answer = answers.subschema_for::<Answer>().to_value();
    requests.subschema_for::<FunctionEnvelope>();
    let webhook = requests.subschema_for::<WebhookEnvelope>().to_value();
    let inbound = requests.subschema_for::<InboundEnvelope>().to_value();
    let arg_refs: Vec<(Function, Value)> =
        Function::ALL.into_iter().map(|f| (f, args_schema(f, &mut requests))).collect();

    let mut schemas = requests.take_definitions(true);
    for (name, schema) in answers.take_definitions(true) {
        assert!(schemas.insert(name.clone(), schema).is_none(), "{name} is both an argument and an answer type");
    }
    let envelope = schemas.remove("FunctionEnvelope").expect("the envelope schema is generated");
    webhook_call(&mut schemas);
    let mut calls = Vec::new();
    let mut examples = Map::new();
    let mut paths = Map::new();
    for (function, args) in &arg_refs {
        let name = function.name();
        let component = format!("{}Call", camel(name));
        schemas.insert(component.clone(), function_envelope(&envelope, &schemas, *function, args));
        calls.push(schema_ref(&component));
        examples.insert(
            name.into(),
            json!({"value": {"name": name, "args": example_args(*function), "call": example_call()}}),
        );
        paths.insert(format!("/retell/functions/{name}"), json!({"post": args_only_operation(*function, args)}));
    }
    schemas.insert("Error".into(), error_schema());
    schemas.insert("CalcomWebhook".into(), calcom::webhook_schema());
    schemas.insert("CalcomPerson".into(), calcom::person_schema());

    retell_paths(&mut paths, calls, examples, &answer, webhook, inbound);
    paths.insert("/calcom/webhook".into(), json!({"post": calcom::operation()}));
    paths.insert("/health/live".into(), health::live());
    paths.insert("/health/ready".into(), health::ready());
    if with_metrics {
        paths.insert("/metrics".into(), health::metrics());
    }
    paths.insert(
        "/openapi.json".into(),
        json!({"get": {"operationId": "openapi", "tags": ["Operations"], "summary": "This document.",
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}}),
    );

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "slotkeeper",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Hair-salon bookings for phone agents: Retell custom functions answered in German, holds that cannot be \
                double-booked, Cal.com as the calendar of record. Admin pages (`/admin`) are HTML behind a login and not part of this API.",
        },
        "tags": [{"name": "Retell"}, {"name": "Cal.com"}, {"name": "Operations"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "retellSignature": {"type": "apiKey", "in": "header", "name": "X-Retell-Signature",
                    "description": "`v=<unix ms>,d=<hex HMAC-SHA256(raw body + v)>` keyed with the Retell API key; the timestamp must be within 5 minutes of the server's clock."},
                "calcomSignature": {"type": "apiKey", "in": "header", "name": "X-Cal-Signature-256",
                    "description": "Lowercase hex HMAC-SHA256 of the raw body, keyed with the salon's Cal.com webhook secret."},
            },
        },
    })
}

/// The Retell operations: default mode, "args only" for any name, call webhooks, inbound calls.
fn retell_paths(
    paths: &mut Map<String, Value>,
    calls: Vec<Value>,
    examples: Map<String, Value>,
    answer: &Value,
    webhook: Value,
    inbound: Value,
) {
    paths.insert(
        "/retell/functions".into(),
        json!({"post": {
            "operationId": "retellFunction",
            "tags": ["Retell"],
            "summary": "A Retell custom-function call (default mode: name, arguments and the call object).",
            "description": "Signed by Retell (`X-Retell-Signature`). Checks run in this order: body size (413), signature (401), \
                content type (415), JSON (400), function name (404), arguments (400), call id (400), salon (404). \
                A retry with the same call, function and arguments gets the stored answer (`X-Idempotent-Replay: true`).",
            "security": [{"retellSignature": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": calls}, "examples": examples}}},
            "responses": function_responses(answer),
        }}),
    );
    let name_parameter = json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}, "example": "check_availability_v17"});
    let name_and_call_headers: Vec<Value> = std::iter::once(name_parameter).chain(call_headers()).collect();
    paths.insert(
        "/retell/functions/{name}".into(),
        json!({"post": {
            "operationId": "retellFunctionArgsOnly",
            "tags": ["Retell"],
            "summary": "A Retell custom-function call in \"args only\" mode, for any function name (see the per-function paths for the argument schemas).",
            "security": [{"retellSignature": []}],
            "parameters": name_and_call_headers,
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": function_responses(answer),
        }}),
    );
    paths.insert(
        "/retell/webhook".into(),
        json!({"post": {
            "operationId": "retellWebhook",
            "tags": ["Retell"],
            "summary": "Retell call events: `call_ended` frees the call's holds at once; each event is applied once.",
            "description": "Every event Retell sends is acknowledged with 204: `call_started`, `call_ended` and `call_analyzed` \
                are recorded (once per call and event), `transcript_updated`, the `transfer_*` events and unknown events are \
                counted and ignored, and so is an event about a call no salon is configured for. Bodies carry the live transcript \
                (about 19 KiB per minute of conversation) and are accepted up to `http.retell_body_limit_bytes` (4 MiB by default).",
            "security": [{"retellSignature": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": webhook,
                "example": {"event": "call_ended", "call": example_call()}}}},
            "responses": error_responses(json!({"204": {"description": "Applied, a repeated delivery, or an event that is ignored."}}), &[400, 401, 413, 415, 503]),
        }}),
    );
    paths.insert(
        "/retell/inbound".into(),
        json!({"post": {
            "operationId": "retellInbound",
            "tags": ["Retell"],
            "summary": "Retell's inbound-call webhook (set per phone number): the known caller's name and next appointment as dynamic variables.",
            "description": "Answered within 2 s whatever happens. A known caller gets `customer_name` and, if they have one, \
                `next_appointment` (German label), `next_appointment_service` and `next_appointment_staff`; an unknown caller, an \
                unknown salon or a failed lookup gets `{\"call_inbound\": {}}`, any event but `call_inbound` gets `{}`.",
            "security": [{"retellSignature": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": inbound,
                "example": {"event": "call_inbound", "call_inbound": {"agent_id": "agent_demo", "from_number": "+4915112345678", "to_number": "+4930123456789"}}}}},
            "responses": error_responses(json!({"200": {
                "description": "What Retell applies to the call before the agent speaks.",
                "content": {"application/json": {"schema": inbound_answer_schema()}},
            }}), &[400, 401, 413, 415, 503]),
        }}),
    );
}

/// `{"call_inbound": {"dynamic_variables": {…strings}, "metadata": {…}}}`, every part optional.
fn inbound_answer_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"call_inbound": {
            "type": "object",
            "properties": {
                "dynamic_variables": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "`customer_name`, `next_appointment`, `next_appointment_service`, `next_appointment_staff`."},
                "metadata": {"type": "object"},
            },
        }},
    })
}

/// The generic envelope with this function's `name` pattern and `args` schema; `args` is required
/// exactly when the arguments have required fields (a missing `args` defaults to `{}`).
fn function_envelope(envelope: &Value, schemas: &Map<String, Value>, function: Function, args: &Value) -> Value {
    let mut schema = envelope.clone();
    let properties = schema["properties"].as_object_mut().expect("the envelope is an object schema");
    assert!(
        properties.contains_key("name") && properties.contains_key("args"),
        "the envelope has name and args: {envelope}"
    );
    properties.insert(
        "name".into(),
        json!({"type": "string", "pattern": name_pattern(function.name()), "examples": [function.name()],
               "description": "The function, in any case, optionally with a version suffix (`_v17`)."}),
    );
    properties.insert("args".into(), args.clone());
    let args_component = args["$ref"].as_str().and_then(|r| r.rsplit('/').next()).and_then(|name| schemas.get(name));
    let args_required = args_component.and_then(|s| s["required"].as_array()).is_some_and(|r| !r.is_empty());
    if args_required {
        schema["required"].as_array_mut().expect("the envelope requires its name").push(json!("args"));
    }
    schema["title"] = json!(format!("{} call", function.name()));
    schema
}

/// The webhook reads its `call` only for `call_started`, `call_ended` and `call_analyzed` and
/// acknowledges other events whatever the call says, so there the call id has no pattern (the
/// schema-driven fuzz found a malformed id acknowledged with an unknown event).
fn webhook_call(schemas: &mut Map<String, Value>) {
    let mut call = schemas["RetellCall"].clone();
    call["properties"]["call_id"].as_object_mut().expect("the call has a call_id").remove("pattern");
    call["description"] = json!(
        "The call, read only for `call_started`, `call_ended` and `call_analyzed`; a malformed call id is then refused with 400."
    );
    schemas.insert("RetellWebhookCall".into(), call);
    schemas["WebhookEnvelope"]["properties"]["call"]["$ref"] = json!(format!("#{SCHEMAS}/RetellWebhookCall"));
}

fn call_headers() -> Vec<Value> {
    let text = json!({"type": "string"});
    let call_id = json!({"type": "string", "pattern": CALL_ID_PATTERN});
    [
        ("X-Retell-Call-Id", "The call's id (or `call_id` in the arguments).", call_id),
        ("X-Retell-Agent-Id", "The agent.", text.clone()),
        ("X-Retell-From-Number", "The caller, E.164.", text.clone()),
        ("X-Retell-To-Number", "The salon's number, E.164.", text),
    ]
    .into_iter()
    .map(|(name, description, schema)| json!({"name": name, "in": "header", "required": false, "description": description, "schema": schema}))
    .collect()
}

fn args_only_operation(function: Function, args: &Value) -> Value {
    let name = function.name();
    json!({
        "operationId": format!("retellArgsOnly{}", camel(name)),
        "tags": ["Retell"],
        "summary": format!("`{name}` in \"args only\" mode: the body is the arguments, the call comes from the `X-Retell-*` headers."),
        "security": [{"retellSignature": []}],
        "parameters": call_headers(),
        "requestBody": {"required": true, "content": {"application/json": {"schema": args, "example": example_args(function)}}},
        "responses": function_responses(&json!({"$ref": format!("#{SCHEMAS}/Answer")})),
    })
}

fn function_responses(answer: &Value) -> Value {
    let ok = json!({"200": {
        "description": "The answer: `success`, the German `message` the agent reads aloud, and what the function found or did.",
        "headers": {"X-Idempotent-Replay": {"description": "`true` when this is the stored answer of an earlier identical call.", "schema": {"type": "string"}}},
        "content": {"application/json": {"schema": answer}},
    }});
    error_responses(ok, &[400, 401, 404, 413, 415, 503])
}

/// `ok` plus the JSON error body for each status.
fn error_responses(ok: Value, statuses: &[u16]) -> Value {
    let mut responses = ok.as_object().cloned().unwrap_or_default();
    for status in statuses {
        let description = match status {
            400 => "Not JSON, arguments missing or of the wrong type (the field is named), or a placeholder call id.",
            401 => "Signature missing, malformed, stale, or wrong. Nothing was read or changed.",
            404 => "Unknown function, or a call that cannot be attributed to a salon.",
            413 => "Body larger than the configured limit; refused before any other work.",
            415 => "Content type is not application/json.",
            _ => "Overloaded, timed out, or the store is unavailable; retry after `Retry-After` seconds.",
        };
        responses.insert(
            status.to_string(),
            json!({"description": description, "content": {"application/json": {"schema": schema_ref("Error")}}}),
        );
    }
    Value::Object(responses)
}

/// `ApiError`'s body (`http::error`).
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["success", "error", "message"],
        "properties": {
            "success": {"const": false},
            "error": {"type": "object", "required": ["code", "message"],
                      "properties": {"code": {"type": "string", "examples": ["bad_signature", "invalid_arguments"]}, "message": {"type": "string"}}},
            "message": {"type": "string", "description": "A German sentence an agent can read aloud."},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_an_envelope_an_args_only_path_and_an_example_that_parses() {
        let doc = document(false);
        for function in Function::ALL {
            let name = function.name();
            assert!(doc["paths"][format!("/retell/functions/{name}")]["post"].is_object(), "{name}");
            let body = json!({"name": name, "args": example_args(function), "call": example_call()}).to_string();
            let parsed =
                super::super::retell::parse_function_call(body.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(parsed.function, function);
        }
        assert!(doc["paths"].get("/metrics").is_none());
        assert!(document(true)["paths"]["/metrics"]["get"].is_object());
    }

    #[test]
    fn required_fields_come_from_serde() {
        let doc = document(false);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["CheckAvailabilityArgs"]["required"], json!(["service", "date"]));
        assert_eq!(schemas["StartBookingArgs"]["required"], json!(["reservation_token"]));
        assert_eq!(schemas["Answer"]["required"], json!(["success", "message"]));
        assert_eq!(schemas["CheckAvailabilityCall"]["required"], json!(["name", "args"]));
        assert_eq!(schemas["GetAppointmentsCall"]["required"], json!(["name"]), "get_appointments needs no arguments");
        assert!(schemas.get("FunctionEnvelope").is_none());
        assert_eq!(schemas["RetellCall"]["properties"]["call_id"]["pattern"], CALL_ID_PATTERN);
        assert!(
            schemas["RetellWebhookCall"]["properties"]["call_id"].get("pattern").is_none(),
            "ignored events ignore the call"
        );
        assert_eq!(schemas["WebhookEnvelope"]["properties"]["call"]["$ref"], "#/components/schemas/RetellWebhookCall");
    }

    #[test]
    fn the_name_pattern_accepts_what_the_server_accepts() {
        assert_eq!(
            name_pattern("get_appointments"),
            "^[gG][eE][tT]_[aA][pP][pP][oO][iI][nN][tT][mM][eE][nN][tT][sS](_v[0-9]+)?$"
        );
        assert_eq!(camel("check_availability"), "CheckAvailability");
    }
}
