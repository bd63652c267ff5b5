//! Health and metrics routes in the OpenAPI document (`http::health`). Written by hand: the
//! bodies are built with `json!` there; the schema-driven fuzz checks real answers against these.

use serde_json::{Value, json};

pub(super) fn live() -> Value {
    json!({"get": {
        "operationId": "healthLive",
        "tags": ["Operations"],
        "summary": "The process serves HTTP (checks nothing else).",
        "responses": {"200": {"description": "Alive.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}},
        }}}}},
    }})
}

pub(super) fn ready() -> Value {
    let body = json!({
        "type": "object",
        "required": ["status", "reasons", "store", "calendar_supervisor", "calendar_actors"],
        "properties": {
            "status": {"enum": ["ready", "not_ready"]},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "store": {"type": "string", "description": "`ok`, or why the store did not answer."},
            "calendar_supervisor": {"enum": ["running", "stopped"]},
            "calendar_actors": {"type": "integer", "minimum": 0},
            "calcom_circuits": {"description": "Each salon's Cal.com circuit breaker (an open circuit does not make the node unready)."},
            "outbox": {"description": "Counts of the Cal.com outbox at its last poll."},
        },
    });
    json!({"get": {
        "operationId": "healthReady",
        "tags": ["Operations"],
        "summary": "The store answers and the calendar supervisor runs.",
        "responses": {
            "200": {"description": "Ready.", "content": {"application/json": {"schema": body}}},
            "503": {"description": "Not ready; `reasons` says why.", "content": {"application/json": {"schema": body}}},
        },
    }})
}

pub(super) fn metrics() -> Value {
    json!({"get": {
        "operationId": "metrics",
        "tags": ["Operations"],
        "summary": "Prometheus metrics (served here only when no separate metrics address is configured).",
        "responses": {"200": {"description": "Prometheus text format 0.0.4.", "content": {"text/plain": {"schema": {"type": "string"}}}}},
    }})
}
