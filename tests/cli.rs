//! The binary's contract: exit codes, `config validate` output, and `run` under a fake
//! systemd (READY=1 / STOPPING=1 on a notify socket, /healthz, SIGTERM → exit 0).

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_odoo-channels");

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("ODOO_CHANNELS_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .env_remove("RUST_LOG")
        .env_remove("STATE_DIRECTORY")
        .stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    cmd(args).output().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.display().to_string()
}

fn good_config(dir: &Path, listen: &str) -> String {
    write(
        dir,
        "good.toml",
        &format!(
            r#"
[odoo]
url = "http://127.0.0.1:9"
database = "prod"
login = "bot"
api_key = {{ env = "TEST_ODOO_KEY" }}
[store]
url = "sqlite://{}/state/state.db"
[server]
listen = "{listen}"
[[channels]]
id = "shop"
kind = "sandbox"
"#,
            dir.display()
        ),
    )
}

#[test]
fn config_validate_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.toml",
        "[odoo]\nurl = \"https://o\"\ndatabase = \"d\"\nlogin = \"l\"\napi_key = { env = \"K\" }\n\
         [[channels]]\nid = \"shop\"\nkind = \"amazon\"\nbuffer_percent = 150\nstock_schedule = \"sometimes\"\n\
         [[channels]]\nid = \"shop\"\nkind = \"ebay\"\n",
    );
    let out = run(&["--config", &bad, "config", "validate"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("3 problems"), "{err}");
    assert!(
        err.contains("channels[0].buffer_percent: must be between 0 and 100 (got 150) (line 9)"),
        "{err}"
    );
    assert!(err.contains("channels[0].stock_schedule"), "{err}");
    assert!(
        err.contains("channels[1].id: duplicate channel id `shop`"),
        "{err}"
    );

    let good = good_config(dir.path(), "127.0.0.1:0");
    let out = run(&["--config", &good, "config", "validate"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok (1 channel, 1 enabled"));

    // the config path also comes from the environment
    let out = cmd(&["config", "validate"])
        .env("ODOO_CHANNELS_CONFIG", &bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));

    let out = run(&[
        "--config",
        "/nonexistent/odoo-channels.toml",
        "config",
        "validate",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read configuration file"));

    // world-readable with an inline secret
    let insecure = write(
        dir.path(),
        "insecure.toml",
        "[odoo]\nurl = \"https://o\"\ndatabase = \"d\"\nlogin = \"l\"\napi_key = \"sekrit-value\"\n",
    );
    std::fs::set_permissions(&insecure, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&["--config", &insecure, "config", "validate"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("world-readable") && err.contains("odoo.api_key"),
        "{err}"
    );
    assert!(!err.contains("sekrit-value"), "secret printed: {err}");
}

#[test]
fn usage_version_and_seams() {
    assert_eq!(run(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(run(&[]).status.code(), Some(2));
    assert_eq!(run(&["--help"]).status.code(), Some(0));
    let out = run(&["version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("supported Odoo versions: 16.0, 17.0, 18.0, 19.0")
    );
    // a bad Odoo version for the demo is a usage error
    let out = run(&["demo", "--odoo-version", "15"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn check_reports_and_exits_with_the_worst_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_config(dir.path(), "127.0.0.1:0");
    // credential unresolvable: Odoo (4)
    let out = run(&["--config", &good, "-q", "check"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL  odoo credentials: environment variable `TEST_ODOO_KEY` is not set"),
        "{stdout}"
    );
    assert!(stdout.contains("ok    state store"), "{stdout}");
    // credentials fine, but nothing listens at the Odoo URL: Odoo (4), with what to check
    let out = cmd(&["--config", &good, "-q", "check"])
        .env("TEST_ODOO_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL  odoo: cannot reach Odoo at http://127.0.0.1:9"),
        "{stdout}"
    );
    // and the channel's missing secret is named
    assert!(stdout.contains("missing secrets: token"), "{stdout}");
    // store unusable (6)
    let text = std::fs::read_to_string(&good).unwrap().replace(
        &format!("sqlite://{}/state/state.db", dir.path().display()),
        "sqlite:///proc/odoo-channels/state.db",
    );
    let broken = write(dir.path(), "broken.toml", &text);
    let out = cmd(&["--config", &broken, "-q", "check"])
        .env("TEST_ODOO_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{out:?}");
}

fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    Some((status, body))
}

#[test]
fn run_notifies_systemd_serves_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let config = good_config(dir.path(), &addr);
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();

    let child = cmd(&["--config", &config, "--log-format", "json", "run"])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("TEST_ODOO_KEY", "k")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let mut buf = [0u8; 1024];
    let mut ready = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready && Instant::now() < deadline {
        let n = sock.recv(&mut buf).unwrap();
        ready = String::from_utf8_lossy(&buf[..n]).contains("READY=1");
    }
    assert!(ready, "no READY=1");
    assert_eq!(http_get(&addr, "/healthz").unwrap(), (200, "ok\n".into()));
    let (status, body) = http_get(&addr, "/readyz").unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"store\":{\"ok\":true}"), "{body}");
    // Odoo is down: not ready, and it says why; the daemon keeps running.
    assert!(body.contains("cannot reach Odoo"), "{body}");

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut stopping = false;
    while !stopping {
        let n = sock.recv(&mut buf).unwrap();
        stopping = String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1");
    }
    let out = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{logs}");
    // JSON logs, one object per line
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
    assert!(logs.contains("SIGTERM"), "{logs}");
    assert!(!logs.contains("\"k\""), "secret in logs: {logs}");
}
