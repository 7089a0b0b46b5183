use super::*;
use std::io::Write;

const MINIMAL: &str = r#"
[odoo]
url = "https://odoo.example.com"
database = "prod"
login = "bot"
api_key = { env = "ODOO_API_KEY" }

[[channels]]
id = "shop"
kind = "shopify"
"#;

fn env() -> LoadEnv {
    LoadEnv::default()
}

fn load(text: &str) -> Result<Config, Vec<ConfigProblem>> {
    Config::from_toml_str_with(text, &env()).map_err(|e| e.problems)
}

/// The problems of an invalid file, as `key: message` strings.
fn problems(text: &str) -> Vec<String> {
    match load(text) {
        Ok(_) => panic!("expected problems, the file loaded"),
        Err(ps) => ps
            .into_iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect(),
    }
}

fn assert_problem(text: &str, key: &str, needle: &str) {
    let ps = problems(text);
    assert!(
        ps.iter()
            .any(|p| p.starts_with(&format!("{key}: ")) && p.contains(needle)),
        "no problem `{key}: …{needle}…` in {ps:#?}"
    );
}

fn with_channel(extra: &str) -> String {
    format!("{MINIMAL}{extra}\n")
}

#[test]
fn minimal_file_gets_every_default() {
    let c = load(MINIMAL).unwrap();
    assert_eq!(c.odoo.url.as_str(), "https://odoo.example.com/");
    assert_eq!(c.odoo.protocol, OdooProtocol::Auto);
    assert!(c.odoo.auth.is_api_key());
    assert_eq!(c.odoo.timeout, Duration::from_secs(30));
    assert_eq!(c.odoo.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.odoo.max_concurrency, 4);
    assert_eq!(c.odoo.batch_size, 2000);
    assert_eq!(
        c.odoo.retry,
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_millis(10_000)
        }
    );
    assert_eq!(c.odoo.company_id, None);
    assert_eq!(c.store.url, DEFAULT_STORE_URL);
    assert_eq!(c.store.backend, StoreBackend::Sqlite);
    assert_eq!(c.server.listen, "127.0.0.1:8787".parse().unwrap());
    assert_eq!(c.server.max_body_bytes, 1024 * 1024);
    assert_eq!(c.log.format, LogFormat::Auto);
    assert_eq!(c.log.level, "info");
    assert_eq!(
        c.inventory.full_reconcile_every,
        Duration::from_secs(6 * 3600)
    );
    let ch = &c.channels[0];
    assert_eq!(ch.kind, ChannelKind::Shopify);
    assert!(ch.enabled);
    assert_eq!(ch.priority, 0);
    assert_eq!(ch.buffer_percent, Decimal::ZERO);
    assert_eq!(ch.max_qty, None);
    assert_eq!(ch.stock_schedule, Schedule::Realtime);
    assert!(ch.connection.is_empty());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn schedules_default_per_kind_and_parse_every_form() {
    let c = load(&with_channel(
        r#"
[[channels]]
id = "amz"
kind = "amazon"
[[channels]]
id = "eb"
kind = "ebay"
stock_schedule = "*/10 * * * *"
order_schedule = "1h"
"#,
    ))
    .unwrap();
    let amz = c.channel("amz").unwrap();
    assert_eq!(
        amz.stock_schedule,
        Schedule::Every(Duration::from_secs(300))
    );
    assert_eq!(
        amz.order_schedule,
        Schedule::Every(Duration::from_secs(600))
    );
    let eb = c.channel("eb").unwrap();
    assert!(matches!(eb.stock_schedule, Schedule::Cron(_)));
    assert_eq!(
        eb.order_schedule,
        Schedule::Every(Duration::from_secs(3600))
    );
}

#[test]
fn decimals_and_connection_pass_through() {
    let c = load(&format!(
        "{}buffer_percent = 7.5\nmax_qty = 40\nmin_qty = 2\n[channels.connection]\nshop = \"x\"\nnested = {{ a = 1 }}\n",
        MINIMAL
    ))
    .unwrap();
    let ch = &c.channels[0];
    assert_eq!(ch.buffer_percent, Decimal::new(75, 1));
    assert_eq!(ch.max_qty, Some(40));
    assert_eq!(ch.connection["shop"].as_str(), Some("x"));
    assert_eq!(ch.connection["nested"]["a"].as_integer(), Some(1));
}

#[test]
fn enabled_channels_by_priority() {
    let c = load(&with_channel(
        r#"
[[channels]]
id = "a"
kind = "amazon"
priority = 50
[[channels]]
id = "b"
kind = "ebay"
priority = 80
[[channels]]
id = "off"
kind = "etsy"
priority = 99
enabled = false
"#,
    ))
    .unwrap();
    let ids: Vec<_> = c.enabled_channels().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["b", "a", "shop"]);
}

#[test]
fn reports_every_problem_at_once() {
    let text = r#"
[odoo]
url = "ftp://odoo"
protocol = "soap"
timeout_secs = 0
api_key = { env = "K" }
password = { env = "P" }

[store]
url = "mysql://x"

[server]
listen = "nowhere"

[log]
format = "xml"

[[channels]]
id = "Shop!"
kind = "shopfiy"
buffer_percent = 120
stock_schedule = "every fortnight"

[[channels]]
id = "dup"
kind = "amazon"
[[channels]]
id = "dup"
kind = "amazon"
max_qty = 1
min_qty = 5
"#;
    let ps = problems(text);
    for (key, needle) in [
        ("odoo.url", "http:// or https://"),
        ("odoo.database", "required"),
        ("odoo.login", "required"),
        ("odoo.protocol", "unknown protocol `soap`"),
        ("odoo.timeout_secs", "between 1 and 3600"),
        ("odoo", "exactly one of api_key or password"),
        ("store.url", "unknown store scheme"),
        ("server.listen", "not an address:port"),
        ("log.format", "unknown log format `xml`"),
        ("channels[0].id", "[a-z0-9_-]+"),
        ("channels[0].kind", "unknown kind `shopfiy`"),
        ("channels[0].buffer_percent", "must be between 0 and 100"),
        ("channels[0].stock_schedule", "every fortnight"),
        (
            "channels[2].id",
            "duplicate channel id `dup` (also channels[1].id)",
        ),
        ("channels[2].max_qty", "at least min_qty"),
    ] {
        assert!(
            ps.iter()
                .any(|p| p.starts_with(&format!("{key}: ")) && p.contains(needle)),
            "missing `{key}: …{needle}…` in {ps:#?}"
        );
    }
    assert_eq!(ps.len(), 15, "{ps:#?}");
}

#[test]
fn validation_problems_carry_lines() {
    let text = with_channel("buffer_percent = 101");
    let errs = load(&text).unwrap_err();
    let p = errs
        .iter()
        .find(|p| p.key == "channels[0].buffer_percent")
        .unwrap();
    let expected = text
        .lines()
        .position(|l| l.starts_with("buffer_percent"))
        .unwrap()
        + 1;
    assert_eq!(p.line, Some(expected));
    assert!(p.to_string().ends_with(&format!("(line {expected})")));
}

#[test]
fn odoo_rules() {
    assert_problem(
        &MINIMAL.replace("api_key = { env = \"ODOO_API_KEY\" }", ""),
        "odoo",
        "neither is set",
    );
    assert_problem(
        &MINIMAL.replace(
            "api_key = { env = \"ODOO_API_KEY\" }",
            "password = { env = \"P\" }\nprotocol = \"json2\"",
        ),
        "odoo.protocol",
        "API key only",
    );
    // json2 needs no login
    assert!(
        load(&MINIMAL.replace("login = \"bot\"", "protocol = \"json2\"")).is_ok(),
        "json2 without login"
    );
    assert_problem(
        &MINIMAL.replace(
            "login = \"bot\"",
            "login = \"bot\"\nconnect_timeout_secs = 60\ntimeout_secs = 20",
        ),
        "odoo.connect_timeout_secs",
        "must not exceed timeout_secs",
    );
    assert_problem(
        &MINIMAL.replace(
            "login = \"bot\"",
            "login = \"bot\"\nretry_base_ms = 500\nretry_max_ms = 100",
        ),
        "odoo.retry_max_ms",
        "at least retry_base_ms",
    );
    assert_problem(
        &MINIMAL.replace("login = \"bot\"", "login = \"bot\"\ncompany_id = 0"),
        "odoo.company_id",
        "positive",
    );
    assert_problem(
        &MINIMAL.replace(
            "login = \"bot\"",
            "login = \"bot\"\nmax_concurrency = 0\nbatch_size = 0",
        ),
        "odoo.max_concurrency",
        "between 1 and 64",
    );
    assert_problem(
        "[[channels]]\nid = \"a\"\nkind = \"sandbox\"\n",
        "odoo",
        "[odoo] section",
    );
}

#[test]
fn channel_rules() {
    assert_problem(
        &with_channel("[[channels]]\nkind = \"amazon\""),
        "channels[1].id",
        "required",
    );
    assert_problem(
        &with_channel("[[channels]]\nid = \"x\""),
        "channels[1].kind",
        "required",
    );
    assert_problem(
        &with_channel("[[channels]]\nid = \"a-very-long-channel-identifier\"\nkind = \"ebay\""),
        "channels[1].id",
        "at most 24",
    );
    assert_problem(
        &with_channel("priority = -1"),
        "channels[0].priority",
        "between 0",
    );
    assert_problem(
        &with_channel("buffer_percent = -0.5"),
        "channels[0].buffer_percent",
        "between 0 and 100",
    );
    assert_problem(
        &with_channel("buffer_units = -3"),
        "channels[0].buffer_units",
        "between 0",
    );
    assert_problem(
        &with_channel("keep_last_units = -1"),
        "channels[0].keep_last_units",
        "between 0",
    );
    assert_problem(
        &with_channel("warehouses = [\"WH\", \"WH\"]"),
        "channels[0].warehouses[1]",
        "listed twice",
    );
    assert_problem(
        &with_channel("warehouses = [\"\"]"),
        "channels[0].warehouses[0]",
        "empty",
    );
    assert_problem(
        &with_channel("order_schedule = \"61 * * * *\""),
        "channels[0].order_schedule",
        "cron",
    );
    assert_problem(
        &with_channel("stock_schedule = \"every 0m\""),
        "channels[0].stock_schedule",
        "at least 1s",
    );
}

#[test]
fn store_rules_and_state_directory() {
    let sd = LoadEnv {
        state_directory: Some("/var/lib/odoo-channels-x".into()),
    };
    let c = Config::from_toml_str_with(MINIMAL, &sd).unwrap();
    assert_eq!(c.store.url, "sqlite:///var/lib/odoo-channels-x/state.db");
    // an explicit url is never rewritten
    let text = format!("{MINIMAL}\n[store]\nurl = \"postgres://u:pw@db/x\"\n");
    let text = text.replace("[[channels]]\nid = \"shop\"\nkind = \"shopify\"\n", "");
    let c = Config::from_toml_str_with(&text, &sd).unwrap();
    assert_eq!(c.store.url, "postgres://u:pw@db/x");
    assert_eq!(c.store.backend, StoreBackend::Postgres);
    let bad = MINIMAL.replace(
        "[[channels]]",
        "[store]\nurl = \"mysql://u:secretpw@h/db\"\n[[channels]]",
    );
    let ps = problems(&bad);
    assert!(
        ps.iter()
            .any(|p| p.starts_with("store.url: unknown store scheme")),
        "{ps:?}"
    );
    assert!(
        !ps.iter().any(|p| p.contains("secretpw")),
        "password leaked: {ps:?}"
    );
    assert_problem(
        &MINIMAL.replace(
            "[[channels]]",
            "[store]\noutbox_lease_secs = 1\n[[channels]]",
        ),
        "store.outbox_lease_secs",
        "between 5",
    );
}

#[test]
fn server_log_inventory_rules() {
    assert_problem(
        &MINIMAL.replace(
            "[[channels]]",
            "[server]\nmax_body_bytes = 10\n[[channels]]",
        ),
        "server.max_body_bytes",
        "between 1024",
    );
    assert_problem(
        &MINIMAL.replace(
            "[[channels]]",
            "[server]\nrequest_timeout_secs = 0\n[[channels]]",
        ),
        "server.request_timeout_secs",
        "between 1",
    );
    assert_problem(
        &MINIMAL.replace(
            "[[channels]]",
            "[log]\nlevel = \"odoo_channels=loud\"\n[[channels]]",
        ),
        "log.level",
        "not a log filter",
    );
    assert_problem(
        &MINIMAL.replace(
            "[[channels]]",
            "[inventory]\nfull_reconcile_every = \"often\"\n[[channels]]",
        ),
        "inventory.full_reconcile_every",
        "invalid duration",
    );
    let c = load(&MINIMAL.replace(
        "[[channels]]",
        "[server]\nlisten = \"[::1]:9000\"\n[log]\nformat = \"json\"\nlevel = \"odoo_channels=debug,sqlx=warn\"\n[[channels]]",
    ))
    .unwrap();
    assert_eq!(c.server.listen.port(), 9000);
    assert_eq!(c.log.format, LogFormat::Json);
}

#[test]
fn parse_errors_name_key_path_and_line() {
    let text = with_channel("[[channels]]\nid = \"b\"\nkind = \"ebay\"\npriority = \"high\"");
    let errs = load(&text).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].key, "channels[1].priority");
    let expected = text
        .lines()
        .position(|l| l.starts_with("priority"))
        .unwrap()
        + 1;
    assert_eq!(errs[0].line, Some(expected), "{errs:?}");

    let errs =
        load(&MINIMAL.replace("login = \"bot\"", "login = \"bot\"\ntimeout = 5")).unwrap_err();
    assert_eq!(errs[0].key, "odoo.timeout");
    assert!(
        errs[0].message.contains("unknown field `timeout`"),
        "{errs:?}"
    );
    assert_eq!(errs[0].line, Some(6), "{errs:?}");

    let errs = load(&MINIMAL.replace(
        "api_key = { env = \"ODOO_API_KEY\" }",
        "api_key = { vault = \"x\" }",
    ))
    .unwrap_err();
    assert_eq!(errs[0].key, "odoo.api_key");
    assert!(
        errs[0].message.contains("unknown field `vault`"),
        "{errs:?}"
    );

    let errs = load("[odoo\nurl = 1").unwrap_err();
    assert!(errs[0].message.starts_with("TOML syntax error"), "{errs:?}");
    assert_eq!(errs[0].line, Some(1));
}

#[test]
fn secret_key_names() {
    for k in [
        "api_key",
        "password",
        "token",
        "secret",
        "client_secret",
        "refresh_token",
        "access_token",
        "webhook_secret",
        "db_password",
        "API_KEY",
    ] {
        assert!(is_secret_key(k), "{k}");
    }
    for k in [
        "url",
        "login",
        "shop_domain",
        "token_url_base",
        "secrets_dir",
    ] {
        assert!(!is_secret_key(k), "{k}");
    }
}

fn write_config(text: &str, mode: u32) -> tempfile::NamedTempFile {
    use std::os::unix::fs::PermissionsExt;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    f
}

#[test]
fn world_readable_file_with_inline_secret_is_refused() {
    let inline_in_connection = with_channel("[channels.connection]\naccess_token = \"shpat_123\"");
    let f = write_config(&inline_in_connection, 0o644);
    let e = Config::load_with(f.path(), &env()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("world-readable"), "{msg}");
    assert!(msg.contains("channels[0].connection.access_token"), "{msg}");
    assert!(!msg.contains("shpat_123"), "secret leaked: {msg}");

    let inline_odoo = MINIMAL.replace("{ env = \"ODOO_API_KEY\" }", "\"abc\"");
    let f = write_config(&inline_odoo, 0o604);
    let e = Config::load_with(f.path(), &env()).unwrap_err();
    assert!(e.to_string().contains("odoo.api_key"), "{e}");

    // not world-readable: accepted, with a warning naming the key
    let f = write_config(&inline_in_connection, 0o640);
    let c = Config::load_with(f.path(), &env()).unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_eq!(c.warnings[0].key, "channels[0].connection.access_token");
    assert!(c.warnings[0].line.is_some());
    assert_eq!(c.source.as_deref(), Some(f.path()));

    // Any string in a connector's secrets table is a secret, whatever its name.
    let inline_in_secrets = with_channel("[channels.secrets]\napp_key = \"tt-app-123\"");
    let f = write_config(&inline_in_secrets, 0o644);
    let e = Config::load_with(f.path(), &env()).unwrap_err();
    assert!(e.to_string().contains("channels[0].secrets.app_key"), "{e}");
    assert!(!e.to_string().contains("tt-app-123"), "secret leaked: {e}");
    let by_ref = with_channel("[channels.secrets]\ntoken = { env = \"SHOP_TOKEN\" }");
    let f = write_config(&by_ref, 0o644);
    let c = Config::load_with(f.path(), &env()).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.channels[0].secrets["token"].to_string(), "env:SHOP_TOKEN");

    // world-readable but secrets by reference only: fine
    let f = write_config(MINIMAL, 0o644);
    let c = Config::load_with(f.path(), &env()).unwrap();
    assert!(c.warnings.is_empty());
}

#[test]
fn unreadable_file_is_one_clear_problem() {
    let e = Config::load_with(Path::new("/nonexistent/odoo-channels.toml"), &env()).unwrap_err();
    assert_eq!(e.problems.len(), 1);
    assert!(
        e.to_string().contains("cannot read configuration file"),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("/nonexistent/odoo-channels.toml: 1 problem"),
        "{e}"
    );
}

// --- config.example.toml ---------------------------------------------------------------------

fn example() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml")).unwrap()
}

#[test]
fn example_loads() {
    let c = load(&example()).unwrap();
    assert_eq!(c.channels.len(), 2);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

/// Uncommenting every `# key = value   # default` line must change nothing: the example
/// documents the real defaults.
#[test]
fn example_documents_every_default() {
    let text = example();
    let mut uncommented = String::new();
    let mut n = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ")
            && rest.trim_end().ends_with("# default")
            && rest.contains(" = ")
        {
            uncommented.push_str(rest);
            n += 1;
        } else {
            uncommented.push_str(line);
        }
        uncommented.push('\n');
    }
    assert!(n >= 25, "only {n} documented defaults");
    let a = load(&text).unwrap();
    let b = load(&uncommented).unwrap();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

/// Every key the parser accepts appears in the example (the parser's own list of expected
/// fields, taken from its unknown-field error).
#[test]
fn example_mentions_every_key() {
    let text = example();
    let sections = [
        (
            "odoo",
            MINIMAL.replace("login = \"bot\"", "login = \"bot\"\nzz_unknown = 1"),
        ),
        (
            "store",
            MINIMAL.replace("[[channels]]", "[store]\nzz_unknown = 1\n[[channels]]"),
        ),
        (
            "server",
            MINIMAL.replace("[[channels]]", "[server]\nzz_unknown = 1\n[[channels]]"),
        ),
        (
            "log",
            MINIMAL.replace("[[channels]]", "[log]\nzz_unknown = 1\n[[channels]]"),
        ),
        (
            "inventory",
            MINIMAL.replace("[[channels]]", "[inventory]\nzz_unknown = 1\n[[channels]]"),
        ),
        (
            "fulfilment",
            MINIMAL.replace("[[channels]]", "[fulfilment]\nzz_unknown = 1\n[[channels]]"),
        ),
        ("channels", with_channel("zz_unknown = 1")),
        (
            "channels.fulfilment",
            with_channel("[channels.fulfilment]\nzz_unknown = 1"),
        ),
        ("top", format!("zz_unknown = 1\n{MINIMAL}")),
    ];
    for (section, probe) in sections {
        let errs = load(&probe).unwrap_err();
        let msg = &errs[0].message;
        let expected = msg
            .split("expected ")
            .nth(1)
            .unwrap_or_else(|| panic!("{section}: {msg}"))
            .trim_start_matches("one of ");
        let keys: Vec<&str> = expected
            .split(", ")
            .flat_map(|k| k.split(" or "))
            .map(|k| k.trim().trim_matches('`'))
            .collect();
        assert!(keys.len() >= 2, "{section}: {keys:?}");
        for k in keys {
            let documented = if section == "top" {
                text.contains(&format!("[{k}]")) || text.contains(&format!("[[{k}]]"))
            } else {
                text.lines().any(|l| {
                    let l = l.trim_start_matches('#').trim_start();
                    l.starts_with(&format!("{k} = "))
                        || l.starts_with(&format!("{k}  "))
                        || l.starts_with(&format!("[channels.{k}]"))
                })
            };
            assert!(
                documented,
                "{section}.{k} is not documented in config.example.toml"
            );
        }
    }
}

// --- [fulfilment] and [channels.fulfilment] ------------------------------------------------

#[test]
fn fulfilment_defaults_and_a_full_channel_table() {
    let c = load(MINIMAL).unwrap();
    assert_eq!(c.fulfilment, FulfilmentConfig::default());
    assert_eq!(c.channels[0].fulfilment, ChannelFulfilment::default());
    let c = load(&with_channel(
        r#"[channels.fulfilment]
carriers = { "Standard delivery" = "USPS" }
default_carrier = "Other"
require_tracking = false
cancel_reason = "other"
cancel_reasons = { "Buyer asked" = "buyer_request" }
return_policy = "scrap"
return_window_days = 0
scrap_reasons = ["damaged"]"#,
    ))
    .unwrap();
    let f = &c.channels[0].fulfilment;
    assert_eq!(f.carrier_code("standard delivery").0, "USPS");
    assert!(!f.require_tracking);
    assert_eq!(f.cancel_reason, channels_core::CancelReason::Other);
    assert_eq!(f.return_policy, ReturnPolicy::Scrap);
    assert_eq!(f.return_window_days, 0);
}

#[test]
fn fulfilment_problems_are_named_by_key() {
    let text = format!(
        "{}\n[fulfilment]\nevery = \"soon\"\nlookback = \"5s\"\n",
        with_channel(
            "[channels.fulfilment]\ncancel_reason = \"meh\"\nreturn_policy = \"burn\"\nreturn_window_days = -1\ncancel_reasons = { \"X\" = \"nope\" }"
        )
    );
    assert_problem(
        &text,
        "channels[0].fulfilment.cancel_reason",
        "unknown cancellation reason",
    );
    assert_problem(
        &text,
        "channels[0].fulfilment.return_policy",
        "unknown return policy",
    );
    assert_problem(
        &text,
        "channels[0].fulfilment.return_window_days",
        "between 0 and 3650",
    );
    assert_problem(
        &text,
        "channels[0].fulfilment.cancel_reasons.X",
        "unknown cancellation reason",
    );
    assert_problem(&text, "fulfilment.every", "");
    assert_problem(&text, "fulfilment.lookback", "at least 1m");
}
