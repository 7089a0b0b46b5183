//! The `channel_sync` addon in the sandbox: the schema agrees with the addon's Python source,
//! and its constraints, defaults, access rights and quarantine methods behave as the addon's
//! code says (`odoo_module/channel_sync/models/*.py`, `security/`).

use odoo_sandbox::{ErrKind, OdooError, OdooSandbox, SandboxConfig, SandboxHandle};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const DEMO_UID: i64 = 5;

async fn sandbox() -> OdooSandbox {
    OdooSandbox::start(SandboxConfig::default().addon(true))
        .await
        .unwrap()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn err_of(r: Result<impl std::fmt::Debug, OdooError>) -> OdooError {
    r.expect_err("the call should have been refused")
}

fn channel(h: &SandboxHandle, code: &str) -> i64 {
    h.create(
        "channel.channel",
        json!({"name": format!("Channel {code}"), "code": code, "kind": "amazon"}),
    )
    .unwrap()
}

fn product(h: &SandboxHandle, code: &str) -> i64 {
    h.create(
        "product.product",
        json!({"name": format!("Product {code}"), "default_code": code, "is_storable": true, "list_price": 10.0}),
    )
    .unwrap()
}

fn one(h: &SandboxHandle, model: &str, id: i64, fields: &[&str]) -> Map<String, Value> {
    h.read(model, &[id], fields).unwrap().remove(0)
}

// ------------------------------------------------------------------ schema vs source

/// The generator, re-run in `--check` mode, finds the committed data identical to what the
/// addon's source gives (field names, types, relations, selections, required, constraints,
/// defaults, access rights, groups).
#[test]
fn generated_data_matches_the_addon_source() {
    let script = root().join("sandbox/data/tools/gen_channel_sync.py");
    let out = match std::process::Command::new("python3")
        .arg(&script)
        .arg("--check")
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "\n!!! SKIPPED: python3 is not available ({e}); the Rust-side source scan \
                 (schema_agrees_with_a_scan_of_the_python_source) still runs\n"
            );
            return;
        }
    };
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One field declaration as written in the Python source.
#[derive(Debug)]
struct PyField {
    class: String,
    ftype: String,
    call: String,
}

/// Text from `open` to its matching `)` (strings and nesting respected).
fn call_text(src: &str, open: usize) -> &str {
    let b = src.as_bytes();
    let mut depth = 0;
    let mut i = open;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return &src[open..=i];
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    &src[open..]
}

fn quoted_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(key)? + key.len();
    let rest = text[at..].trim_start();
    let q = rest.chars().next()?;
    if q != '"' && q != '\'' {
        return None;
    }
    let end = rest[1..].find(q)?;
    Some(&rest[1..=end])
}

/// A scan of `models/*.py` independent of the generator: per model, field → declaration.
/// Fields per model, and SQL constraints per model, as scanned from the Python source.
type Scanned = (
    BTreeMap<String, BTreeMap<String, PyField>>,
    BTreeMap<String, Vec<String>>,
);

fn scan_source() -> Scanned {
    let mut models: BTreeMap<String, BTreeMap<String, PyField>> = BTreeMap::new();
    let mut consts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let dir = root().join("odoo_module/channel_sync/models");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        // Module-level selection lists: NAME = [("key", "Label"), ...]
        let mut offset = 0;
        for line in src.split_inclusive('\n') {
            if let Some(name) = line.strip_suffix(" = [\n")
                && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            {
                let text = call_text(&src, offset + line.len() - 2);
                let keys = text
                    .split('(')
                    .skip(1)
                    .filter_map(|t| quoted_after(t, ""))
                    .map(str::to_owned)
                    .collect();
                consts.insert(name.to_owned(), keys);
            }
            offset += line.len();
        }
        let mut model: Option<String> = None;
        let mut class = String::new();
        let mut offset = 0;
        for line in src.split_inclusive('\n') {
            if let Some(c) = line.strip_prefix("class ") {
                class = c.split('(').next().unwrap_or("").to_owned();
                model = None;
            }
            let t = line.trim();
            if model.is_none()
                && (t.starts_with("_name = ") || t.starts_with("_inherit = "))
                && line.starts_with("    _")
            {
                model = quoted_after(t, "=").map(str::to_owned);
            }
            if line.starts_with("    ")
                && !line.starts_with("     ")
                && let Some((name, rest)) = t.split_once(" = fields.")
                && let Some(m) = &model
            {
                let ftype = rest.split('(').next().unwrap().to_owned();
                let open = offset + line.find(" = fields.").unwrap() + 10 + ftype.len();
                let call = call_text(&src, open).to_owned();
                models.entry(m.clone()).or_default().insert(
                    name.to_owned(),
                    PyField {
                        class: class.clone(),
                        ftype,
                        call,
                    },
                );
            }
            offset += line.len();
        }
    }
    (models, consts)
}

fn odoo_type(py: &str) -> String {
    match py {
        "Many2oneReference" => "many2one_reference".into(),
        "Many2one" | "One2many" | "Many2many" | "Char" | "Text" | "Html" | "Integer" | "Float"
        | "Monetary" | "Boolean" | "Date" | "Datetime" | "Selection" | "Binary" | "Reference"
        | "Json" => py.to_lowercase(),
        other => panic!("unknown field class fields.{other}"),
    }
}

/// Every field of the addon's source is served by `fields_get` with its type, relation,
/// required flag and selection keys; every field `fields_get` serves for the addon's models
/// is in the source (or is one of the ORM's magic fields).
#[tokio::test]
async fn schema_agrees_with_a_scan_of_the_python_source() {
    let sb = sandbox().await;
    let h = sb.handle();
    let (models, consts) = scan_source();
    assert!(models.len() >= 9, "scanned only {:?}", models.keys());
    let magic = [
        "id",
        "display_name",
        "create_uid",
        "create_date",
        "write_uid",
        "write_date",
    ];
    let mut problems = Vec::new();
    for (model, fields) in &models {
        let served = h
            .call(
                model,
                "fields_get",
                json!([]),
                json!({"attributes": ["string", "type", "required", "readonly", "relation", "selection"]}),
            )
            .unwrap_or_else(|e| panic!("fields_get of {model}: {e:?}"));
        let served = served.as_object().unwrap();
        for (name, py) in fields {
            let Some(f) = served.get(name) else {
                problems.push(format!("{model}.{name} ({}) is not served", py.class));
                continue;
            };
            let related = py.call.contains("related=");
            if !related && f["type"] != odoo_type(&py.ftype) {
                problems.push(format!(
                    "{model}.{name}: source {} but served {}",
                    py.ftype, f["type"]
                ));
            }
            let required = py.call.contains("required=True");
            if f["required"].as_bool() != Some(required) {
                problems.push(format!(
                    "{model}.{name}: required={required} in the source, served {}",
                    f["required"]
                ));
            }
            if let Some(rel) = quoted_after(&py.call, "comodel_name=")
                && f["relation"] != json!(rel)
            {
                problems.push(format!(
                    "{model}.{name}: relation {rel} in the source, served {}",
                    f["relation"]
                ));
            }
            if py.ftype == "Selection" && !related {
                let arg = py.call[1..]
                    .split([',', ')'])
                    .next()
                    .unwrap()
                    .trim()
                    .to_owned();
                if let Some(keys) = consts.get(&arg) {
                    let served_keys: Vec<String> = f["selection"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p[0].as_str().unwrap().to_owned())
                        .collect();
                    if &served_keys != keys {
                        problems.push(format!(
                            "{model}.{name}: selection {keys:?} in the source, served {served_keys:?}"
                        ));
                    }
                } else {
                    problems.push(format!(
                        "{model}.{name}: selection {arg} not found in the source"
                    ));
                }
            }
        }
        if odoo_sandbox::addon::defines(model) {
            for name in served.keys() {
                if !fields.contains_key(name) && !magic.contains(&name.as_str()) {
                    problems.push(format!("{model}.{name} is served but not in the source"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_python_constraint_of_the_addon_is_ported() {
    let b = odoo_sandbox::addon::behaviour();
    let ported = odoo_sandbox::business::channel_sync::PORTED_CONSTRAINTS;
    for (model, mb) in &b.models {
        for pc in &mb.python_constraints {
            assert!(
                ported.contains(&(model.as_str(), pc.method.as_str())),
                "{model}.{} (@api.constrains {:?}) is not ported to the sandbox",
                pc.method,
                pc.fields
            );
        }
    }
}

// -------------------------------------------------------------------- installed or not

#[tokio::test]
async fn without_the_addon_nothing_changes() {
    let sb = OdooSandbox::start(SandboxConfig::default()).await.unwrap();
    let h = sb.handle();
    let e = err_of(h.search_count("channel.channel", json!([])));
    assert_eq!(e.kind, ErrKind::UserError);
    assert!(e.message.contains("Object channel.channel doesn't exist"));
    let fields = h
        .call("sale.order", "fields_get", json!([]), json!({}))
        .unwrap();
    assert!(fields.get("channel_id").is_none());
    assert_eq!(
        h.search_count("ir.module.module", json!([["name", "=", "channel_sync"]]))
            .unwrap(),
        0
    );
    assert!(!sb.addon_installed());
}

#[tokio::test]
async fn installed_module_and_technical_user() {
    let sb = sandbox().await;
    let h = sb.handle();
    let m = h
        .search_read(
            "ir.module.module",
            json!([["name", "=", "channel_sync"]]),
            &["state", "latest_version"],
        )
        .unwrap();
    assert_eq!(m[0]["state"], "installed");
    assert!(sb.addon_installed());
    let u = one(&h, "res.users", sb.daemon_uid(), &["login"]);
    assert_eq!(u["login"], sb.daemon_login());
    // The technical user authenticates over JSON-2 with its own key.
    let r = reqwest::Client::new()
        .post(format!("{}/json/2/channel.channel/search_count", sb.url()))
        .bearer_auth(sb.daemon_api_key())
        .json(&json!({"domain": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!(0));
}

// -------------------------------------------------------------- defaults and constraints

#[tokio::test]
async fn defaults_as_the_addon_declares_them() {
    let sb = sandbox().await;
    let h = sb.handle();
    let c = h
        .create("channel.channel", json!({"name": "Shop", "code": "shop"}))
        .unwrap();
    let r = one(
        &h,
        "channel.channel",
        c,
        &[
            "kind",
            "active",
            "priority",
            "company_id",
            "currency_id",
            "health",
        ],
    );
    assert_eq!(r["kind"], "other");
    assert_eq!(r["active"], true);
    assert_eq!(r["priority"], 10);
    assert_eq!(r["company_id"][0], 1);
    assert_eq!(r["currency_id"][0], 1);
    assert_eq!(r["health"], "never");
    let p = product(&h, "D-1");
    let b = h
        .create(
            "channel.product.binding",
            json!({"channel_id": c, "product_id": p, "external_sku": "SHOP-D-1"}),
        )
        .unwrap();
    let r = one(
        &h,
        "channel.product.binding",
        b,
        &[
            "listing_state",
            "currency_id",
            "display_name",
            "product_tmpl_id",
            "company_id",
        ],
    );
    assert_eq!(r["listing_state"], "draft");
    assert_eq!(r["currency_id"][0], 1);
    assert_eq!(r["display_name"], "[shop] SHOP-D-1");
    assert!(r["product_tmpl_id"].is_array());
    assert_eq!(r["company_id"][0], 1);
    let run = h
        .create("channel.sync.run", json!({"channel_id": c, "job": "stock"}))
        .unwrap();
    let r = one(&h, "channel.sync.run", run, &["state", "started_at"]);
    assert_eq!(r["state"], "running");
    assert!(r["started_at"].is_string());
    let q = h
        .create(
            "channel.quarantine",
            json!({"channel_id": c, "kind": "order", "reason": "x", "external_ref": "A-1"}),
        )
        .unwrap();
    let r = one(
        &h,
        "channel.quarantine",
        q,
        &["state", "resolved", "display_name"],
    );
    assert_eq!(r["state"], "held");
    assert_eq!(r["resolved"], false);
    assert_eq!(r["display_name"], "shop / Order / A-1");
}

#[tokio::test]
async fn sql_unique_constraints_refuse_duplicates_like_odoo() {
    let sb = sandbox().await;
    let h = sb.handle();
    let c = channel(&h, "amz");
    let e = err_of(h.create("channel.channel", json!({"name": "Again", "code": "amz"})));
    assert_eq!(e.kind, ErrKind::ValidationError);
    assert_eq!(
        e.message,
        "The operation cannot be completed: A channel with this code already exists: the code is the daemon's channel id and must be unique."
    );
    assert_eq!(
        h.search_count("channel.channel", json!([])).unwrap(),
        1,
        "rolled back"
    );
    let p1 = product(&h, "U-1");
    let p2 = product(&h, "U-2");
    h.create(
        "channel.product.binding",
        json!({"channel_id": c, "product_id": p1, "external_sku": "X-1"}),
    )
    .unwrap();
    let e = err_of(h.create(
        "channel.product.binding",
        json!({"channel_id": c, "product_id": p2, "external_sku": "X-1"}),
    ));
    assert!(
        e.message
            .contains("This SKU is already bound on this channel"),
        "{e:?}"
    );
    let e = err_of(h.create(
        "channel.product.binding",
        json!({"channel_id": c, "product_id": p1, "external_sku": "X-2"}),
    ));
    assert!(
        e.message
            .contains("This product already has a binding on this channel")
    );
    // Another channel may use the same SKU.
    let c2 = channel(&h, "ebay");
    h.create(
        "channel.product.binding",
        json!({"channel_id": c2, "product_id": p2, "external_sku": "X-1"}),
    )
    .unwrap();
    // Orders: unique (channel_id, channel_order_ref).
    let order = |r: &str| {
        h.create(
            "sale.order",
            json!({"partner_id": 15, "channel_id": c, "channel_order_ref": r,
                   "order_line": [[0, 0, {"product_id": p1, "product_uom_qty": 1}]]}),
        )
    };
    order("111-1").unwrap();
    let e = err_of(order("111-1"));
    assert_eq!(e.kind, ErrKind::ValidationError);
    assert_eq!(
        e.message,
        "The operation cannot be completed: This channel order is already imported: an order reference is unique per channel."
    );
    // Quarantine: (channel_id, daemon_ref) unique; no daemon_ref never collides.
    let q = |r: Value| {
        h.create(
            "channel.quarantine",
            json!({"channel_id": c, "kind": "order", "reason": "r", "daemon_ref": r}),
        )
    };
    q(json!("q1")).unwrap();
    assert!(
        err_of(q(json!("q1")))
            .message
            .contains("already quarantined")
    );
    q(json!(false)).unwrap();
    q(json!(false)).unwrap();
}

#[tokio::test]
async fn check_and_python_constraints() {
    let sb = sandbox().await;
    let h = sb.handle();
    let e = err_of(h.create(
        "channel.channel",
        json!({"name": "Bad", "code": "Amazon US"}),
    ));
    assert_eq!(e.kind, ErrKind::ValidationError);
    assert_eq!(
        e.message,
        "Invalid channel code 'Amazon US' on channel Bad: use lowercase letters, digits, '_' and '-' only (e.g. 'amazon-us')."
    );
    let e = err_of(h.create(
        "channel.channel",
        json!({"name": "Pct", "code": "pct", "buffer_percent": 150}),
    ));
    assert_eq!(
        e.message,
        "The operation cannot be completed: The safety buffer percentage must be between 0 and 100."
    );
    let c = channel(&h, "c");
    let e = err_of(h.write("channel.channel", &[c], json!({"buffer_units": -1})));
    assert!(e.message.contains("cannot be negative"));
    let p = product(&h, "C-1");
    let bind = |extra: Value| {
        let mut v = json!({"channel_id": c, "product_id": p, "external_sku": "C-1"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        h.create("channel.product.binding", v)
    };
    assert!(
        err_of(bind(json!({"external_sku": " C-1"})))
            .message
            .contains("cannot be blank nor start or end with spaces")
    );
    assert!(
        err_of(bind(json!({"amazon_asin": "b07"})))
            .message
            .contains("an ASIN is 10")
    );
    assert!(
        err_of(bind(json!({"price": -1.0})))
            .message
            .contains("cannot be negative")
    );
    assert!(
        err_of(bind(json!({"shopify_metafields_json": "[{\"key\": 1}]"})))
            .message
            .contains("metafield #1 must be an object with namespace, value")
    );
    assert!(
        err_of(bind(json!({"walmart_attributes_json": "[]"})))
            .message
            .contains("expected a JSON object")
    );
    assert!(
        err_of(bind(json!({"tiktok_video_url": "ftp://x"})))
            .message
            .contains("must start with https://")
    );
    let b = bind(json!({"amazon_asin": "B07XJ8C8F5", "price": 0.0})).unwrap();
    let e = err_of(h.write(
        "channel.product.binding",
        &[b],
        json!({"amazon_asin": "short"}),
    ));
    assert_eq!(e.kind, ErrKind::ValidationError);
    let e = err_of(h.create("sale.order", json!({"partner_id": 15, "channel_id": c})));
    assert!(
        e.message.contains("has no channel order reference"),
        "{e:?}"
    );
    let e = err_of(h.create(
        "channel.quarantine",
        json!({"channel_id": c, "kind": "order", "reason": "r", "res_model": "no.such"}),
    ));
    assert!(e.message.contains("refers to the unknown model 'no.such'"));
}

// ---------------------------------------------------------------------- access rights

#[tokio::test]
async fn the_daemon_writes_only_its_fields_and_creates_no_channel() {
    let sb = sandbox().await;
    let h = sb.handle();
    let daemon = sb.daemon_uid();
    let c = channel(&h, "amz");
    let p = product(&h, "S-1");
    let b = h
        .create(
            "channel.product.binding",
            json!({"channel_id": c, "product_id": p, "external_sku": "S-1", "price": 12.5}),
        )
        .unwrap();
    // No create on channels for the daemon (least privilege).
    let e = err_of(h.call_as(
        daemon,
        "channel.channel",
        "create",
        json!([{"name": "x", "code": "x"}]),
        json!({}),
    ));
    assert_eq!(e.kind, ErrKind::AccessError);
    assert!(
        e.message
            .contains("You are not allowed to create 'Sales Channel' (channel.channel) records.")
    );
    assert!(e.message.contains("Channels / Administrator"));
    // Its sync status: yes. The merchant's policy: no.
    h.call_as(
        daemon,
        "channel.channel",
        "write",
        json!([[c], {"last_sync_state": "ok", "last_stock_sync": "2026-01-01 10:00:00"}]),
        json!({}),
    )
    .unwrap();
    let e = err_of(h.call_as(
        daemon,
        "channel.channel",
        "write",
        json!([[c], {"priority": 99, "last_sync_state": "ok"}]),
        json!({}),
    ));
    assert_eq!(e.kind, ErrKind::AccessError);
    assert_eq!(
        e.message,
        "The channel daemon may not change priority on Sales Channel: these fields are set by a channel manager."
    );
    h.call_as(
        daemon,
        "channel.product.binding",
        "write",
        json!([[b], {"listing_state": "active", "listing_ref": "LST-1", "last_error": false}]),
        json!({}),
    )
    .unwrap();
    let e = err_of(h.call_as(
        daemon,
        "channel.product.binding",
        "write",
        json!([[b], {"price": 1.0}]),
        json!({}),
    ));
    assert!(
        e.message
            .contains("may not change price on Channel Product Binding")
    );
    // An administrator is not restricted.
    h.write("channel.channel", &[c], json!({"priority": 30}))
        .unwrap();
    // A plain employee sees channels but not bindings or quarantine.
    h.call_as(
        DEMO_UID,
        "channel.channel",
        "search",
        json!([[]]),
        json!({}),
    )
    .unwrap();
    let e = err_of(h.call_as(
        DEMO_UID,
        "channel.quarantine",
        "search",
        json!([[]]),
        json!({}),
    ));
    assert_eq!(e.kind, ErrKind::AccessError);
}

// ------------------------------------------------------------------------ quarantine

fn quarantine(h: &SandboxHandle, c: i64) -> i64 {
    h.create(
        "channel.quarantine",
        json!({"channel_id": c, "kind": "order", "external_ref": "111-1", "daemon_ref": "q7",
               "reason": "unknown SKU", "payload": "{}"}),
    )
    .unwrap()
}

fn act(h: &SandboxHandle, uid: i64, q: i64, method: &str) -> Result<Value, OdooError> {
    h.call_as(uid, "channel.quarantine", method, json!([[q]]), json!({}))
}

#[tokio::test]
async fn quarantine_decisions_follow_the_addon_rules() {
    let sb = sandbox().await;
    let h = sb.handle();
    let c = channel(&h, "amz");
    let q = quarantine(&h, c);
    // State changes only through the methods.
    let e = err_of(h.write("channel.quarantine", &[q], json!({"state": "released"})));
    assert_eq!(e.kind, ErrKind::UserError);
    assert!(
        e.message
            .contains("changes only through Release, Discard or Hold again")
    );
    // Resolving needs a decision.
    let e = err_of(h.call(
        "channel.quarantine",
        "mark_resolved",
        json!([[q]]),
        json!({"note": "x"}),
    ));
    assert_eq!(
        e.message,
        "Quarantine amz / Order / 111-1 is still held: there is no decision to resolve."
    );
    // The admin (a channel administrator) releases; twice is harmless.
    assert_eq!(act(&h, 2, q, "action_release").unwrap(), json!(true));
    let first = one(
        &h,
        "channel.quarantine",
        q,
        &["state", "released_by", "released_at"],
    );
    assert_eq!(first["state"], "released");
    assert_eq!(first["released_by"][0], 2);
    let messages = h
        .search_count(
            "mail.message",
            json!([["model", "=", "channel.quarantine"], ["res_id", "=", q]]),
        )
        .unwrap();
    assert_eq!(messages, 1, "the state change is tracked");
    act(&h, 2, q, "action_release").unwrap();
    assert_eq!(
        one(&h, "channel.quarantine", q, &["released_at"])["released_at"],
        first["released_at"]
    );
    assert_eq!(
        h.search_count(
            "mail.message",
            json!([["model", "=", "channel.quarantine"], ["res_id", "=", q]]),
        )
        .unwrap(),
        1,
        "no new message for a repeated decision"
    );
    // Changing one's mind before the daemon acted is fine.
    act(&h, 2, q, "action_discard").unwrap();
    act(&h, 2, q, "action_release").unwrap();
    // The daemon acts and resolves; resolving twice is harmless.
    let daemon = sb.daemon_uid();
    h.call_as(
        daemon,
        "channel.quarantine",
        "mark_resolved",
        json!([[q]]),
        json!({"note": "imported as S00042"}),
    )
    .unwrap();
    let r = one(
        &h,
        "channel.quarantine",
        q,
        &["resolved", "resolved_at", "resolution_note"],
    );
    assert_eq!(r["resolved"], true);
    assert_eq!(r["resolution_note"], "imported as S00042");
    h.call_as(
        daemon,
        "channel.quarantine",
        "mark_resolved",
        json!([[q]]),
        json!({}),
    )
    .unwrap();
    assert_eq!(
        one(&h, "channel.quarantine", q, &["resolution_note"])["resolution_note"],
        "imported as S00042"
    );
    // Once resolved, another decision needs a hold first.
    let e = err_of(act(&h, 2, q, "action_discard"));
    assert_eq!(
        e.message,
        "Quarantine amz / Order / 111-1 was already released and handled by the daemon; put it on hold again before taking another decision."
    );
    act(&h, daemon, q, "action_hold").unwrap();
    let r = one(&h, "channel.quarantine", q, &["state", "resolved"]);
    assert_eq!(
        (r["state"].as_str(), r["resolved"].as_bool()),
        (Some("held"), Some(false))
    );
    act(&h, 2, q, "action_discard").unwrap();
    // A plain user may not decide (the sandbox refuses at its access check before the
    // method's own check; both are AccessErrors, as in Odoo).
    let e = err_of(act(&h, DEMO_UID, q, "action_release"));
    assert_eq!(e.kind, ErrKind::AccessError);
    // A channel user (read access) reaches the method's own rule.
    let user_group = h
        .search_read(
            "ir.model.data",
            json!([
                ["module", "=", "channel_sync"],
                ["name", "=", "group_channel_user"]
            ]),
            &["res_id"],
        )
        .unwrap()[0]["res_id"]
        .as_i64()
        .unwrap();
    h.write(
        "res.users",
        &[DEMO_UID],
        json!({"group_ids": [[4, user_group]]}),
    )
    .unwrap();
    let e = err_of(act(&h, DEMO_UID, q, "action_release"));
    assert_eq!(e.kind, ErrKind::AccessError);
    assert_eq!(
        e.message,
        "Only channel managers and the channel daemon can release, discard or hold quarantined records."
    );
}

#[tokio::test]
async fn channel_health_and_related_fields() {
    let sb = sandbox().await;
    let h = sb.handle();
    let c = channel(&h, "amz");
    let now = sb.clock().now_us();
    let recent = odoo_sandbox::convert::fmt_dt(now - 60_000_000);
    let old = odoo_sandbox::convert::fmt_dt(now - 3 * 3_600_000_000);
    h.write(
        "channel.channel",
        &[c],
        json!({"last_stock_sync": recent, "last_sync_state": "ok"}),
    )
    .unwrap();
    let r = one(
        &h,
        "channel.channel",
        c,
        &["health", "color", "last_sync_at"],
    );
    assert_eq!(
        (r["health"].as_str(), r["color"].as_i64()),
        (Some("ok"), Some(10))
    );
    assert_eq!(r["last_sync_at"], json!(recent));
    h.write("channel.channel", &[c], json!({"last_stock_sync": old}))
        .unwrap();
    assert_eq!(
        one(&h, "channel.channel", c, &["health"])["health"],
        "warning",
        "stale"
    );
    h.write(
        "channel.channel",
        &[c],
        json!({"last_stock_sync": recent, "last_sync_state": "error"}),
    )
    .unwrap();
    assert_eq!(
        one(&h, "channel.channel", c, &["health"])["health"],
        "error"
    );
    h.write("channel.channel", &[c], json!({"last_sync_state": "ok"}))
        .unwrap();
    quarantine(&h, c);
    let r = one(
        &h,
        "channel.channel",
        c,
        &["health", "quarantine_open_count"],
    );
    assert_eq!(r["health"], "warning", "something is held");
    assert_eq!(r["quarantine_open_count"], 1);
    // An order's delivery carries the channel and the ship-by date.
    let p = product(&h, "R-1");
    let loc = 5;
    h.set_stock(p, loc, 10.0).unwrap();
    let so = h
        .create(
            "sale.order",
            json!({"partner_id": 15, "channel_id": c, "channel_order_ref": "R-1",
                   "channel_ship_by": "2026-12-01 12:00:00",
                   "order_line": [[0, 0, {"product_id": p, "product_uom_qty": 2}]]}),
        )
        .unwrap();
    h.call("sale.order", "action_confirm", json!([[so]]), json!({}))
        .unwrap();
    let pickings = h
        .search_read(
            "stock.picking",
            json!([["channel_id", "=", c]]),
            &["channel_id", "channel_ship_by", "origin"],
        )
        .unwrap();
    assert_eq!(pickings.len(), 1);
    assert_eq!(pickings[0]["channel_ship_by"], "2026-12-01 12:00:00");
    assert_eq!(
        one(&h, "channel.channel", c, &["order_count"])["order_count"],
        1
    );
    // Bindings from the product and its template.
    let b = h
        .create(
            "channel.product.binding",
            json!({"channel_id": c, "product_id": p, "external_sku": "AMZ-R-1"}),
        )
        .unwrap();
    let t = one(&h, "product.product", p, &["product_tmpl_id"])["product_tmpl_id"][0]
        .as_i64()
        .unwrap();
    assert_eq!(
        one(
            &h,
            "product.template",
            t,
            &["channel_binding_ids", "channel_binding_count"]
        )["channel_binding_ids"],
        json!([b])
    );
    assert_eq!(
        one(&h, "product.product", p, &["channel_binding_ids"])["channel_binding_ids"],
        json!([b])
    );
    // Deleting a channel that orders refer to is refused (ondelete=restrict).
    let e = err_of(h.call("channel.channel", "unlink", json!([[c]]), json!({})));
    assert!(
        e.message
            .contains("another model requires the record being deleted")
    );
}
