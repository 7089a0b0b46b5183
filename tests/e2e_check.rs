//! `odoo-channels check` against the Odoo sandbox, as a merchant runs it: the real binary, a
//! real configuration file, real HTTP. Every version personality × every protocol prints its
//! findings and exits 0; a wrong key, an unreachable host and a database that does not exist
//! each print a precise message and exit 4.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use odoo_channels::embedded::{Embedded, EmbeddedOptions};
use odoo_sandbox::OdooVersion;

/// Run `check` on `config` (written 0600 in a temp dir); (exit code, stdout + stderr).
async fn check(config: String) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let config = config.replace(
            "sqlite://STORE",
            &format!("sqlite://{}/state.db", dir.path().display()),
        );
        std::fs::write(&path, config).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_odoo-channels"))
            .args(["-q", "check", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    })
    .await
    .unwrap()
}

fn set(config: &str, key: &str, value: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in config.lines() {
        if !done && line.starts_with(&format!("{key} =")) {
            out.push_str(&format!("{key} = {value}\n"));
            done = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(done, "no key {key}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_the_findings_in_every_version_and_protocol() {
    for major in [16u16, 17, 18, 19] {
        let version = OdooVersion::new(major, 0);
        let emb = Embedded::start(&EmbeddedOptions {
            odoo_version: version,
            products: 12,
            ..Default::default()
        })
        .await
        .unwrap();
        let base = emb.config_toml("sqlite://STORE");
        for protocol in ["auto", "jsonrpc", "xmlrpc", "json2"] {
            let config = set(&base, "protocol", &format!("{protocol:?}"));
            let (code, out) = check(config).await;
            if protocol == "json2" && major < 19 {
                assert_eq!(code, 4, "{major} {protocol}: {out}");
                assert!(
                    out.contains("has no JSON-2 API"),
                    "{major} {protocol}: {out}"
                );
                continue;
            }
            assert_eq!(code, 0, "{major} {protocol}: {out}");
            let chosen = match (protocol, major) {
                ("auto", 19) => "json2",
                ("auto", _) => "jsonrpc",
                (p, _) => p,
            };
            for needle in [
                format!("Odoo {major}.0 at {}", emb.odoo.url()),
                format!("protocol: {chosen}"),
                "user: Mitchell Admin (login \"admin\", uid 2)".to_string(),
                "company: My Company (San Francisco)".to_string(),
                "warehouses: WH (YourCompany)".to_string(),
                "addon channel_sync".to_string(),
                "channel shop (sandbox): ok".to_string(),
                "all is well".to_string(),
            ] {
                assert!(
                    out.contains(&needle),
                    "{major} {protocol}: missing {needle:?} in\n{out}"
                );
            }
            let storable = out
                .lines()
                .find_map(|l| l.strip_prefix("ok    storable products: "))
                .unwrap_or_else(|| panic!("{major} {protocol}: no storable count in\n{out}"));
            assert!(storable.trim().parse::<u64>().unwrap() >= 12, "{out}");
        }
        emb.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_precisely_what_is_wrong_and_exits_4() {
    let emb = Embedded::start(&EmbeddedOptions {
        products: 5,
        ..Default::default()
    })
    .await
    .unwrap();
    let base = emb.config_toml("sqlite://STORE");

    let wrong_key = set(
        &base,
        "api_key",
        "\"0000000000000000000000000000000000000000\"",
    );
    let (code, out) = check(wrong_key).await;
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("refused login \"admin\" on database \"demo\""),
        "{out}"
    );
    assert!(
        out.contains("API key is wrong, expired or revoked"),
        "{out}"
    );
    assert!(
        !out.contains("0000000000000000000000000000000000000000"),
        "secret printed: {out}"
    );

    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("\"http://{}\"", closed.local_addr().unwrap());
    drop(closed);
    let (code, out) = check(set(&base, "url", &dead)).await;
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("cannot reach Odoo at http://127.0.0.1:"),
        "{out}"
    );

    let (code, out) = check(set(&base, "database", "\"no_such_db\"")).await;
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("database \"no_such_db\" does not exist"),
        "{out}"
    );

    // A channel selling from a warehouse Odoo does not have: exit 5 (a problem, Odoo fine).
    let bad_wh = base.replace(
        "kind = \"sandbox\"",
        "kind = \"sandbox\"\nwarehouses = [\"NOPE\"]",
    );
    let (code, out) = check(bad_wh).await;
    assert_eq!(code, 5, "{out}");
    assert!(
        out.contains("warehouse \"NOPE\", which Odoo does not have"),
        "{out}"
    );

    emb.shutdown().await;
}
