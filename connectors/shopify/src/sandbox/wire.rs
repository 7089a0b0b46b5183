//! Response bodies of the Admin GraphQL endpoint that are not execution results: throttling,
//! the single-query cost limit, validation failures, auth.

use serde_json::{Value, json};

use super::limits::Status;

pub const THROTTLED_DOC: &str = "https://shopify.dev/api/usage/rate-limits";

pub fn cost(requested: u64, actual: Option<u64>, s: Status) -> Value {
    json!({
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": {
            "maximumAvailable": s.maximum_available,
            "currentlyAvailable": s.currently_available,
            "restoreRate": s.restore_rate,
        },
    })
}

pub fn throttled(requested: u64, s: Status) -> Value {
    json!({
        "errors": [{
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": THROTTLED_DOC},
        }],
        "extensions": {"cost": cost(requested, None, s)},
    })
}

pub fn max_cost_exceeded(requested: u64, max: u64, s: Status) -> Value {
    json!({
        "errors": [{
            "message": format!("Query cost is {requested}, which exceeds the single query max cost limit ({max}).\n\nSee {THROTTLED_DOC} for more information on how the cost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"),
            "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": max},
        }],
        "extensions": {"cost": cost(requested, None, s)},
    })
}

/// One error per validation diagnostic, with its location.
pub fn invalid_document(problems: Vec<(String, Option<(usize, usize)>)>) -> Value {
    json!({
        "errors": problems.into_iter().map(|(m, loc)| {
            let mut e = json!({"message": m, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}});
            if let Some((line, column)) = loc {
                e["locations"] = json!([{"line": line, "column": column}]);
            }
            e
        }).collect::<Vec<_>>(),
    })
}

pub fn request_error(message: &str, code: &str) -> Value {
    json!({"errors": [{"message": message, "extensions": {"code": code}}]})
}

pub fn internal_error() -> Value {
    json!({"errors": [{
        "message": "Internal error. Looks like something went wrong on our end.\nRequest ID: 00000000-0000-0000-0000-000000000000 (include this in support requests).",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "00000000-0000-0000-0000-000000000000"},
    }]})
}

/// Shopify's 401 body (REST-style, a string).
pub fn unauthorized() -> Value {
    json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
}
