//! Contract check of a GraphQL response: does this JSON have the shape the selection set and
//! the schema's types promise? Used by the contract tests with the **full official schema**
//! (not the sandbox's subset), on every exchange the sandbox recorded.
//!
//! Checked: top-level keys (`data`, `errors`, `extensions`), `extensions.cost` shape, every
//! selected response key present (aliases honoured, fragments applied by `__typename`), no
//! key that was not selected, nullability, lists, built-in scalars (Int in 32 bits…), enum
//! values, and the formats of Shopify's custom scalars (`DateTime`, `Decimal`, `Money`,
//! `UnsignedInt64`, `BigInt`, `URL`).

use apollo_compiler::ast::{self, Type};
use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use serde_json::Value;

struct Ctx<'a> {
    schema: &'a Schema,
    doc: &'a ExecutableDocument,
    vars: &'a Value,
    out: Vec<String>,
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

/// (response key, field type, sub-selection, required?) of a selection set for an object of
/// concrete type `concrete` (`None`: unknown, so type-conditioned fragments are optional).
fn collect<'a>(
    c: &Ctx<'a>,
    set: &'a SelectionSet,
    concrete: Option<&str>,
    out: &mut Vec<(String, &'a Type, &'a SelectionSet, bool, bool)>,
    required: bool,
) {
    for s in &set.selections {
        match s {
            Selection::Field(f) => {
                if skipped(&f.directives, c.vars) {
                    continue;
                }
                let is_typename = f.name == "__typename";
                out.push((
                    f.response_key().to_string(),
                    &f.definition.ty,
                    &f.selection_set,
                    required,
                    is_typename,
                ));
            }
            Selection::FragmentSpread(fs) => {
                if skipped(&fs.directives, c.vars) {
                    continue;
                }
                if let Some(frag) = c.doc.fragments.get(&fs.fragment_name) {
                    let cond = frag.type_condition().as_str();
                    match applies(c, cond, concrete) {
                        Some(true) => collect(c, &frag.selection_set, concrete, out, required),
                        Some(false) => {}
                        None => collect(c, &frag.selection_set, concrete, out, false),
                    }
                }
            }
            Selection::InlineFragment(i) => {
                if skipped(&i.directives, c.vars) {
                    continue;
                }
                match i.type_condition.as_ref().map(|t| t.as_str()) {
                    None => collect(c, &i.selection_set, concrete, out, required),
                    Some(cond) => match applies(c, cond, concrete) {
                        Some(true) => collect(c, &i.selection_set, concrete, out, required),
                        Some(false) => {}
                        None => collect(c, &i.selection_set, concrete, out, false),
                    },
                }
            }
        }
    }
}

fn applies(c: &Ctx<'_>, cond: &str, concrete: Option<&str>) -> Option<bool> {
    let concrete = concrete?;
    Some(cond == concrete || c.schema.is_subtype(cond, concrete))
}

fn check_object(c: &mut Ctx<'_>, set: &SelectionSet, v: &Value, path: &str) {
    let Some(obj) = v.as_object() else {
        c.out
            .push(format!("{path}: expected an object, got {}", kind(v)));
        return;
    };
    let concrete: Option<String> = match c.schema.types.get(&set.ty) {
        Some(ExtendedType::Object(_)) => Some(set.ty.to_string()),
        _ => match obj.get("__typename").and_then(Value::as_str) {
            Some(t) => {
                if !c.schema.is_subtype(&set.ty, t) {
                    c.out.push(format!(
                        "{path}: __typename {t} is not a possible type of {}",
                        set.ty
                    ));
                }
                Some(t.to_string())
            }
            None => None,
        },
    };
    let mut fields = Vec::new();
    // Borrow juggling: collect needs &Ctx; take what we need out of c first.
    {
        let tmp = Ctx {
            schema: c.schema,
            doc: c.doc,
            vars: c.vars,
            out: Vec::new(),
        };
        collect(&tmp, set, concrete.as_deref(), &mut fields, true);
    }
    for key in obj.keys() {
        if !fields.iter().any(|(k, ..)| k == key) {
            c.out.push(format!("{path}.{key}: not selected"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (key, ty, sub, required, is_typename) in fields {
        if !seen.insert(key.clone()) {
            continue;
        }
        let p = format!("{path}.{key}");
        match obj.get(&key) {
            None => {
                if required {
                    c.out.push(format!("{p}: missing"));
                }
            }
            Some(val) => {
                if is_typename {
                    if !val.is_string() {
                        c.out.push(format!("{p}: __typename must be a string"));
                    } else if let Some(ct) = &concrete
                        && val.as_str() != Some(ct.as_str())
                    {
                        c.out.push(format!("{p}: {val} but the object is a {ct}"));
                    }
                } else {
                    check_value(c, ty, sub, val, &p);
                }
            }
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn check_value(c: &mut Ctx<'_>, ty: &Type, sub: &SelectionSet, v: &Value, path: &str) {
    if v.is_null() {
        if ty.is_non_null() {
            c.out.push(format!("{path}: null for non-null {ty}"));
        }
        return;
    }
    match ty {
        Type::List(inner) | Type::NonNullList(inner) => match v.as_array() {
            None => c
                .out
                .push(format!("{path}: expected a list for {ty}, got {}", kind(v))),
            Some(items) => {
                for (i, it) in items.iter().enumerate() {
                    check_value(c, inner, sub, it, &format!("{path}[{i}]"));
                }
            }
        },
        Type::Named(n) | Type::NonNullNamed(n) => match c.schema.types.get(n) {
            Some(ExtendedType::Scalar(_)) => {
                if let Some(problem) = scalar_problem(n.as_str(), v) {
                    c.out.push(format!("{path}: {problem}"));
                }
            }
            Some(ExtendedType::Enum(e)) => match v.as_str() {
                Some(s) if e.values.contains_key(s) => {}
                _ => c
                    .out
                    .push(format!("{path}: {v} is not a value of enum {n}")),
            },
            Some(ExtendedType::Object(_))
            | Some(ExtendedType::Interface(_))
            | Some(ExtendedType::Union(_)) => check_object(c, sub, v, path),
            _ => c.out.push(format!("{path}: unknown type {n}")),
        },
    }
}

fn scalar_problem(name: &str, v: &Value) -> Option<String> {
    let s = v.as_str();
    let ok = match name {
        "Int" => v.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
        "Float" => v.is_number(),
        "String" | "ID" | "HTML" | "URL" | "FormattedString" | "StorefrontID" | "ARN"
        | "UtcOffset" | "Color" => v.is_string(),
        "Boolean" => v.is_boolean(),
        "DateTime" => s.is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok()),
        "Date" => s.is_some_and(|s| s.parse::<jiff::civil::Date>().is_ok()),
        "Decimal" | "Money" => s.is_some_and(|s| s.parse::<rust_decimal::Decimal>().is_ok()),
        "UnsignedInt64" => s.is_some_and(|s| s.parse::<u64>().is_ok()),
        "BigInt" => s.is_some_and(|s| s.parse::<i128>().is_ok()),
        _ => true,
    };
    (!ok).then(|| format!("{v} is not a valid {name}"))
}

fn check_cost(ext: &Value, out: &mut Vec<String>) {
    let Some(cost) = ext.get("cost") else {
        out.push("extensions.cost: missing".into());
        return;
    };
    if !cost["requestedQueryCost"].is_number() {
        out.push("extensions.cost.requestedQueryCost: not a number".into());
    }
    if !(cost["actualQueryCost"].is_number() || cost["actualQueryCost"].is_null()) {
        out.push("extensions.cost.actualQueryCost: not a number or null".into());
    }
    for k in ["maximumAvailable", "currentlyAvailable", "restoreRate"] {
        if !cost["throttleStatus"][k].is_number() {
            out.push(format!("extensions.cost.throttleStatus.{k}: not a number"));
        }
    }
}

/// Problems with `response` as the answer to `query` (empty: it conforms).
pub fn check_response(
    schema: &Valid<Schema>,
    query: &str,
    operation_name: Option<&str>,
    variables: &Value,
    response: &Value,
) -> Vec<String> {
    let doc = match ExecutableDocument::parse_and_validate(schema, query, "request.graphql") {
        Ok(d) => d,
        Err(e) => return vec![format!("the request does not validate: {}", e.errors)],
    };
    let Ok(op) = doc.operations.get(operation_name) else {
        return vec!["operation not found".into()];
    };
    let mut out = Vec::new();
    let Some(top) = response.as_object() else {
        return vec!["response is not an object".into()];
    };
    for k in top.keys() {
        if !matches!(k.as_str(), "data" | "errors" | "extensions") {
            out.push(format!("top-level key {k} is not allowed"));
        }
    }
    let has_errors = match top.get("errors") {
        None => false,
        Some(Value::Array(errs)) => {
            for (i, e) in errs.iter().enumerate() {
                if !e["message"].is_string() {
                    out.push(format!("errors[{i}].message: not a string"));
                }
            }
            !errs.is_empty()
        }
        Some(_) => {
            out.push("errors: not a list".into());
            true
        }
    };
    match top.get("extensions") {
        Some(ext) => check_cost(ext, &mut out),
        None => out.push("extensions: missing (Shopify always reports the cost)".into()),
    }
    match top.get("data") {
        None | Some(Value::Null) => {
            if !has_errors {
                out.push("data: null without errors".into());
            }
        }
        Some(d) => {
            let mut c = Ctx {
                schema,
                doc: &doc,
                vars: variables,
                out: Vec::new(),
            };
            check_object(&mut c, &op.selection_set, d, "data");
            out.extend(c.out);
        }
    }
    out
}
