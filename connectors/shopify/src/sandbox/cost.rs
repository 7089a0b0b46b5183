//! Shopify's calculated query cost ("GraphQL Admin API rate limits", shopify.dev):
//!
//! * scalars and enums: 0; objects: 1; interfaces and unions: the most expensive possible
//!   selection (the shared fields plus the costliest type-conditioned fragment);
//! * connections: 2 plus `first`/`last` times the cost of one node (so first-N connections
//!   cost more, and nested connections multiply);
//! * list fields with a `first` argument cost `first` times one element; other lists cost one;
//! * mutations: 10 per root field (their payload is not charged).
//!
//! The **requested** cost is computed from the document before execution (the bucket must
//! hold it); the **actual** cost from the response (connections that returned fewer nodes,
//! objects that came back null), and the difference is refunded. A query whose requested
//! cost exceeds the single-query maximum (1,000) is refused with `MAX_COST_EXCEEDED`.
//!
//! Written here independently of anything the connector does: the connector only learns costs
//! from `extensions.cost`.

use apollo_compiler::ast;
use apollo_compiler::executable::{Field, Operation, OperationType, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{ExecutableDocument, Schema};
use serde_json::Value;

pub const MUTATION_COST: u64 = 10;
pub const MAX_QUERY_COST: u64 = 1000;

fn arg_int(f: &Field, name: &str, vars: &Value) -> Option<i64> {
    let a = f.arguments.iter().find(|a| a.name == name)?;
    match a.value.as_ref() {
        ast::Value::Int(i) => i.try_to_i32().ok().map(i64::from),
        ast::Value::Variable(v) => vars.get(v.as_str()).and_then(Value::as_i64),
        _ => None,
    }
}

fn skipped(directives: &ast::DirectiveList, vars: &Value) -> bool {
    let flag = |name: &str| -> Option<bool> {
        let d = directives.get(name)?;
        let a = d.arguments.iter().find(|a| a.name == "if")?;
        match a.value.as_ref() {
            ast::Value::Boolean(b) => Some(*b),
            ast::Value::Variable(v) => vars.get(v.as_str()).and_then(Value::as_bool),
            _ => None,
        }
    };
    flag("skip") == Some(true) || flag("include") == Some(false)
}

fn is_leaf(schema: &Schema, t: &ast::Type) -> bool {
    matches!(
        schema.types.get(t.inner_named_type()),
        Some(ExtendedType::Scalar(_)) | Some(ExtendedType::Enum(_))
    ) || schema.types.get(t.inner_named_type()).is_none()
}

fn is_connection(schema: &Schema, t: &ast::Type) -> bool {
    let n = t.inner_named_type();
    n.ends_with("Connection") && schema.get_object(n).is_some()
}

/// Response data for one selection: `Some(value)` when computing the actual cost.
type Data<'a> = Option<&'a Value>;

fn set_cost(
    schema: &Schema,
    doc: &ExecutableDocument,
    set: &SelectionSet,
    vars: &Value,
    data: Data<'_>,
    depth: usize,
) -> u64 {
    if depth > 64 {
        return 0;
    }
    let mut shared = 0u64;
    let mut best_fragment = 0u64;
    for s in &set.selections {
        match s {
            Selection::Field(f) => {
                if skipped(&f.directives, vars) || f.name.starts_with("__") {
                    continue;
                }
                let d = match data {
                    None => None,
                    Some(obj) => match obj.get(f.response_key().as_str()) {
                        Some(v) => Some(v),
                        // Not in the response (a fragment that did not apply): free.
                        None => continue,
                    },
                };
                shared += field_cost(schema, doc, f, vars, d, depth);
            }
            Selection::FragmentSpread(fs) => {
                if skipped(&fs.directives, vars) {
                    continue;
                }
                if let Some(frag) = doc.fragments.get(&fs.fragment_name) {
                    let c = set_cost(schema, doc, &frag.selection_set, vars, data, depth + 1);
                    if frag.type_condition() == &set.ty {
                        shared += c;
                    } else {
                        best_fragment = best_fragment.max(c);
                    }
                }
            }
            Selection::InlineFragment(i) => {
                if skipped(&i.directives, vars) {
                    continue;
                }
                let c = set_cost(schema, doc, &i.selection_set, vars, data, depth + 1);
                match &i.type_condition {
                    Some(t) if t != &set.ty => best_fragment = best_fragment.max(c),
                    _ => shared += c,
                }
            }
        }
    }
    shared + best_fragment
}

fn field_cost(
    schema: &Schema,
    doc: &ExecutableDocument,
    f: &Field,
    vars: &Value,
    data: Data<'_>,
    depth: usize,
) -> u64 {
    let ty = &f.definition.ty;
    if is_leaf(schema, ty) {
        return 0;
    }
    if data.is_some_and(Value::is_null) {
        return 0;
    }
    if is_connection(schema, ty) {
        let requested = arg_int(f, "first", vars)
            .or_else(|| arg_int(f, "last", vars))
            .unwrap_or(0)
            .max(0) as u64;
        // One node: what is selected under `nodes` or `edges { node }` (pageInfo is part of
        // the connection's own 2 points).
        let mut per_node_requested = 0;
        let mut returned: Option<u64> = None;
        let mut per_node_actual_total = 0;
        for s in &f.selection_set.selections {
            let Selection::Field(inner) = s else { continue };
            let key = inner.response_key().as_str();
            match inner.name.as_str() {
                "nodes" => {
                    per_node_requested = per_node_requested.max(
                        1 + set_cost(schema, doc, &inner.selection_set, vars, None, depth + 1),
                    );
                    if let Some(arr) = data.and_then(|d| d.get(key)).and_then(Value::as_array) {
                        returned = Some(returned.unwrap_or(0).max(arr.len() as u64));
                        per_node_actual_total = per_node_actual_total.max(
                            arr.iter()
                                .map(|n| {
                                    if n.is_null() {
                                        0
                                    } else {
                                        1 + set_cost(
                                            schema,
                                            doc,
                                            &inner.selection_set,
                                            vars,
                                            Some(n),
                                            depth + 1,
                                        )
                                    }
                                })
                                .sum::<u64>(),
                        );
                    }
                }
                "edges" => {
                    for es in &inner.selection_set.selections {
                        let Selection::Field(nf) = es else { continue };
                        if nf.name != "node" {
                            continue;
                        }
                        per_node_requested = per_node_requested.max(
                            1 + set_cost(schema, doc, &nf.selection_set, vars, None, depth + 1),
                        );
                        if let Some(arr) = data.and_then(|d| d.get(key)).and_then(Value::as_array) {
                            returned = Some(returned.unwrap_or(0).max(arr.len() as u64));
                            per_node_actual_total = per_node_actual_total.max(
                                arr.iter()
                                    .map(|e| match e.get(nf.response_key().as_str()) {
                                        Some(n) if !n.is_null() => {
                                            1 + set_cost(
                                                schema,
                                                doc,
                                                &nf.selection_set,
                                                vars,
                                                Some(n),
                                                depth + 1,
                                            )
                                        }
                                        _ => 0,
                                    })
                                    .sum::<u64>(),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        return match data {
            None => 2 + requested * per_node_requested,
            Some(_) => {
                2 + if returned.is_some() {
                    per_node_actual_total
                } else {
                    0
                }
            }
        };
    }
    let list = matches!(ty, ast::Type::List(_) | ast::Type::NonNullList(_));
    match data {
        None => {
            let one = 1 + set_cost(schema, doc, &f.selection_set, vars, None, depth + 1);
            match (list, arg_int(f, "first", vars)) {
                (true, Some(n)) => n.max(0) as u64 * one,
                _ => one,
            }
        }
        Some(Value::Array(items)) => {
            let sum: u64 = items
                .iter()
                .filter(|i| !i.is_null())
                .map(|i| 1 + set_cost(schema, doc, &f.selection_set, vars, Some(i), depth + 1))
                .sum();
            sum.max(1)
        }
        Some(v) => 1 + set_cost(schema, doc, &f.selection_set, vars, Some(v), depth + 1),
    }
}

/// Cost before execution.
pub fn requested(schema: &Schema, doc: &ExecutableDocument, op: &Operation, vars: &Value) -> u64 {
    if op.operation_type == OperationType::Mutation {
        return mutation_cost(op, vars);
    }
    set_cost(schema, doc, &op.selection_set, vars, None, 0)
}

/// Cost after execution, from the response's `data`.
pub fn actual(
    schema: &Schema,
    doc: &ExecutableDocument,
    op: &Operation,
    vars: &Value,
    data: &Value,
) -> u64 {
    if op.operation_type == OperationType::Mutation {
        return mutation_cost(op, vars);
    }
    if data.is_null() {
        return 0;
    }
    set_cost(schema, doc, &op.selection_set, vars, Some(data), 0)
}

fn mutation_cost(op: &Operation, vars: &Value) -> u64 {
    op.selection_set
        .selections
        .iter()
        .filter(|s| match s {
            Selection::Field(f) => !f.name.starts_with("__") && !skipped(&f.directives, vars),
            _ => true,
        })
        .count() as u64
        * MUTATION_COST
}
