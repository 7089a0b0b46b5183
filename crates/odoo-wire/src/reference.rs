//! Reading the captures of a real Odoo in `../shared/odoo-reference` (tests only).
//!
//! The contract tests of the client (`tests/`) and of the sandbox (`sandbox/tests/`) walk the
//! same folders. How to find them, how a capture and a scenario are laid out, how a scenario's
//! `{{var}}` templates are filled and what "a response of the same shape" means are defined
//! here once, so both suites judge by the same rules.
//!
//! The repository must build and test without `../shared`: [`shared_dir`] returns `None` and
//! [`require_shared`] prints a loud notice so a skipped contract suite is never mistaken for a
//! passing one.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The folder holding `odoo-reference/` and `marketplace-specs/`, if present.
///
/// `ODOO_CHANNELS_SHARED` wins; otherwise the first ancestor `A` of the running package's
/// manifest directory (or of the current directory) with `A/shared/odoo-reference` is used,
/// which finds `../shared` beside the repository.
pub fn shared_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ODOO_CHANNELS_SHARED") {
        let p = PathBuf::from(p);
        return p.join("odoo-reference").is_dir().then_some(p);
    }
    let starts = [
        std::env::var("CARGO_MANIFEST_DIR").ok().map(PathBuf::from),
        std::env::current_dir().ok(),
    ];
    for start in starts.into_iter().flatten() {
        for anc in start.ancestors() {
            let cand = anc.join("shared");
            if cand.join("odoo-reference").is_dir() {
                return Some(cand);
            }
        }
    }
    None
}

/// [`shared_dir`], or a loud notice on stderr naming the suite that is being skipped.
pub fn require_shared(suite: &str) -> Option<PathBuf> {
    let dir = shared_dir();
    if dir.is_none() {
        eprintln!(
            "\n*** CONTRACT SUITE SKIPPED: {suite}: ../shared (the Odoo and marketplace reference \
             captures) is missing. Set ODOO_CHANNELS_SHARED or check it out beside the repository. \
             Nothing was verified against real Odoo. ***\n"
        );
    }
    dir
}

/// What the recorder wrote in place of the admin API key, in bodies and headers.
pub const REDACTED_API_KEY: &str = "<REDACTED_API_KEY>";

/// Put a real key back where the recorder redacted it (the redaction is not even valid XML).
pub fn unredact(text: &str, key: &str) -> String {
    text.replace(REDACTED_API_KEY, key)
}

/// The 19.0 reference folder.
pub fn odoo19(shared: &Path) -> PathBuf {
    shared.join("odoo-reference").join("19.0")
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// One single-call capture (`xmlrpc/NN_*.json`, `jsonrpc/…`, `json2/…`).
#[derive(Debug, Clone, Deserialize)]
pub struct Capture {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub request: HttpRequest,
    pub response: HttpResponse,
    #[serde(default)]
    pub decoded_response: Value,
}

/// The protocol folder a capture or scenario file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    XmlRpc,
    JsonRpc,
    Json2,
}

impl Protocol {
    pub fn dir(self) -> &'static str {
        match self {
            Protocol::XmlRpc => "xmlrpc",
            Protocol::JsonRpc => "jsonrpc",
            Protocol::Json2 => "json2",
        }
    }
}

/// Every single-call capture of `protocol`, in file order (the order they were recorded in).
pub fn captures(shared: &Path, protocol: Protocol) -> std::io::Result<Vec<Capture>> {
    let dir = odoo19(shared).join(protocol.dir());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)?;
            serde_json::from_str(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", p.display()),
                )
            })
        })
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
pub struct Bind {
    pub path: String,
    pub value: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    pub n: u32,
    pub name: String,
    #[serde(default)]
    pub why: String,
    pub call: Value,
    pub request: HttpRequest,
    pub request_template: Value,
    pub response: HttpResponse,
    #[serde(default)]
    pub decoded_response: Value,
    #[serde(default)]
    pub binds: BTreeMap<String, Bind>,
    #[serde(default)]
    pub sleep_before_s: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    pub scenario: String,
    pub protocol: String,
    pub steps: Vec<Step>,
}

impl Scenario {
    pub fn protocol(&self) -> Protocol {
        match self.protocol.as_str() {
            "json2" => Protocol::Json2,
            _ => Protocol::JsonRpc,
        }
    }
}

/// The names of the scenario folders (`01_stock_view`, …), sorted.
pub fn scenario_names(shared: &Path) -> std::io::Result<Vec<String>> {
    let dir = odoo19(shared).join("scenarios");
    let mut names: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

pub fn scenario(shared: &Path, name: &str, protocol: Protocol) -> std::io::Result<Scenario> {
    let p = odoo19(shared)
        .join("scenarios")
        .join(name)
        .join(format!("{}.json", protocol.dir()));
    let text = std::fs::read_to_string(&p)?;
    serde_json::from_str(&text).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", p.display()),
        )
    })
}

/// Replace every `"{{var}}"` string in `template` by the variable's value (keeping its JSON
/// type), and `{{var}}` inside longer strings by its text. Unknown variables are reported.
pub fn fill_template(template: &Value, vars: &BTreeMap<String, Value>) -> Result<Value, String> {
    Ok(match template {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"))
                && !name.contains("{{")
            {
                return vars
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("unbound template variable {{{{{name}}}}}"));
            }
            Value::String(fill_text(s, vars)?)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill_template(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, v) in m {
                out.insert(k.clone(), fill_template(v, vars)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn fill_text(s: &str, vars: &BTreeMap<String, Value>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unterminated template in {s:?}"))?;
        let name = &after[..end];
        let v = vars
            .get(name)
            .ok_or_else(|| format!("unbound template variable {{{{{name}}}}}"))?;
        match v {
            Value::String(t) => out.push_str(t),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Evaluate a scenario `binds` path against a step's result.
///
/// `result` is the call's result (the JSON-RPC `result`, or the bare JSON-2 body). Paths seen
/// in the transcripts: `result`, `result[0].picking_ids[0]`, `result.res_id`, `created` (the new
/// id; `hint` — the recorded value — says whether an id or a list is expected), `all <field>`
/// (the field's values over all rows, flattened) and filters such as
/// `result[product_id[0] == {{p1}}].id` or `result[name == 'EUR'].id`.
pub fn eval_bind(
    path: &str,
    result: &Value,
    hint: &Value,
    vars: &BTreeMap<String, Value>,
) -> Result<Value, String> {
    if path == "created" {
        return Ok(match (result, hint) {
            (Value::Array(a), Value::Number(_)) if a.len() == 1 => a[0].clone(),
            _ => result.clone(),
        });
    }
    if let Some(field) = path.strip_prefix("all ") {
        let rows = result.as_array().ok_or("`all` needs a list result")?;
        let mut out = Vec::new();
        for r in rows {
            match r.get(field) {
                Some(Value::Array(a)) => out.extend(a.iter().cloned()),
                Some(v) => out.push(v.clone()),
                None => {}
            }
        }
        return Ok(Value::Array(out));
    }
    let rest = path
        .strip_prefix("result")
        .ok_or_else(|| format!("bind path {path:?} does not start with result"))?;
    walk(result, rest, vars)
}

fn walk(v: &Value, path: &str, vars: &BTreeMap<String, Value>) -> Result<Value, String> {
    if path.is_empty() {
        return Ok(v.clone());
    }
    if let Some(rest) = path.strip_prefix('.') {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let key = &rest[..end];
        let next = v
            .get(key)
            .ok_or_else(|| format!("no key {key:?} in {}", brief(v)))?;
        return walk(next, &rest[end..], vars);
    }
    if let Some(rest) = path.strip_prefix('[') {
        // Find the matching bracket (filters contain nested `[0]`).
        let mut depth = 1;
        let mut close = None;
        for (i, c) in rest.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close = close.ok_or_else(|| format!("unbalanced [ in {path:?}"))?;
        let inner = &rest[..close];
        let after = &rest[close + 1..];
        let arr = v
            .as_array()
            .ok_or_else(|| format!("indexing a non-list {}", brief(v)))?;
        if let Ok(i) = inner.trim().parse::<usize>() {
            let next = arr
                .get(i)
                .ok_or_else(|| format!("index {i} out of range (len {})", arr.len()))?;
            return walk(next, after, vars);
        }
        let (lhs, rhs) = inner
            .split_once("==")
            .ok_or_else(|| format!("unsupported filter {inner:?}"))?;
        let rhs = rhs.trim();
        let want: Value = if let Some(q) = rhs.strip_prefix('\'').and_then(|r| r.strip_suffix('\''))
        {
            Value::String(q.to_owned())
        } else {
            let filled = fill_text(rhs, vars)?;
            serde_json::from_str(&filled).unwrap_or(Value::String(filled))
        };
        let lhs_path = format!(".{}", lhs.trim());
        for row in arr {
            if let Ok(got) = walk(row, &lhs_path, vars)
                && got == want
            {
                return walk(row, after, vars);
            }
        }
        return Err(format!("no row with {} == {want}", lhs.trim()));
    }
    Err(format!("cannot follow {path:?}"))
}

fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}…", &s[..s.floor_char_boundary(80)])
    } else {
        s
    }
}

/// The JSON type of a value, as the shape comparison sees it.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Differences in *shape* between a captured value and ours: JSON types (int and float are
/// different types, as they are in Odoo), object key sets, and recursively the values under
/// each key. Lists must be both empty or both non-empty; their elements are compared pairwise
/// up to the shorter length (row counts may legitimately differ with demo data). Returns one
/// line per difference, each starting with its JSON path; empty means same shape.
pub fn shape_diff(expected: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_at("$", expected, actual, &mut out);
    out
}

fn diff_at(path: &str, e: &Value, a: &Value, out: &mut Vec<String>) {
    let (ke, ka) = (kind(e), kind(a));
    if ke != ka {
        out.push(format!(
            "{path}: expected {ke} ({}), got {ka} ({})",
            brief(e),
            brief(a)
        ));
        return;
    }
    match (e, a) {
        (Value::Object(me), Value::Object(ma)) => {
            for k in me.keys() {
                if !ma.contains_key(k) {
                    out.push(format!("{path}: missing key {k:?}"));
                }
            }
            for k in ma.keys() {
                if !me.contains_key(k) {
                    out.push(format!("{path}: unexpected key {k:?}"));
                }
            }
            for (k, ve) in me {
                if let Some(va) = ma.get(k) {
                    diff_at(&format!("{path}.{k}"), ve, va, out);
                }
            }
        }
        (Value::Array(le), Value::Array(la)) => {
            if le.is_empty() != la.is_empty() {
                out.push(format!(
                    "{path}: expected a list of {} items, got {}",
                    le.len(),
                    la.len()
                ));
                return;
            }
            for (i, (ve, va)) in le.iter().zip(la.iter()).enumerate() {
                diff_at(&format!("{path}[{i}]"), ve, va, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shape_diff_sees_types_keys_and_emptiness() {
        assert!(
            shape_diff(
                &json!({"a": [1, "x"], "b": 1.0}),
                &json!({"a": [2, "y"], "b": 3.5})
            )
            .is_empty()
        );
        let d = shape_diff(&json!({"a": 1, "b": false}), &json!({"a": 1.0, "c": false}));
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(!shape_diff(&json!([]), &json!([1])).is_empty());
        assert!(shape_diff(&json!([1, 2, 3]), &json!([4])).is_empty());
    }

    #[test]
    fn templates_keep_types_and_splice_text() {
        let mut vars = BTreeMap::new();
        vars.insert("p1".into(), json!(58));
        vars.insert("T".into(), json!("2026-11-22 22:54:38"));
        let t =
            json!({"ids": ["{{p1}}"], "domain": [["write_date", ">=", "{{T}}"]], "s": "x{{p1}}y"});
        assert_eq!(
            fill_template(&t, &vars).unwrap(),
            json!({"ids": [58], "domain": [["write_date", ">=", "2026-11-22 22:54:38"]], "s": "x58y"})
        );
        assert!(fill_template(&json!("{{nope}}"), &vars).is_err());
    }

    #[test]
    fn bind_paths_from_the_transcripts() {
        let mut vars = BTreeMap::new();
        vars.insert("p1".into(), json!(60));
        let rows = json!([{"id": 101, "product_id": [60, "x"], "lot_stock_id": [5, "WH/Stock"], "t": [1, 2]},
                          {"id": 102, "product_id": [61, "y"], "name": "EUR", "t": [3]}]);
        assert_eq!(
            eval_bind("result[0].lot_stock_id[0]", &rows, &json!(5), &vars).unwrap(),
            json!(5)
        );
        assert_eq!(
            eval_bind(
                "result[product_id[0] == {{p1}}].id",
                &rows,
                &json!(0),
                &vars
            )
            .unwrap(),
            json!(101)
        );
        assert_eq!(
            eval_bind("result[name == 'EUR'].id", &rows, &json!(0), &vars).unwrap(),
            json!(102)
        );
        assert_eq!(
            eval_bind("all t", &rows, &json!([]), &vars).unwrap(),
            json!([1, 2, 3])
        );
        assert_eq!(
            eval_bind("created", &json!([43]), &json!(43), &vars).unwrap(),
            json!(43)
        );
        assert_eq!(
            eval_bind("created", &json!([4, 5]), &json!([4, 5]), &vars).unwrap(),
            json!([4, 5])
        );
        assert_eq!(
            eval_bind("result.res_id", &json!({"res_id": 9}), &json!(9), &vars).unwrap(),
            json!(9)
        );
    }
}
