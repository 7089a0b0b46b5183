//! systemd notifications: `READY=1`, `STATUS=…`, `WATCHDOG=1`, `STOPPING=1`.
//!
//! The unit is `Type=notify` with `WatchdogSec=`: systemd considers the service started only
//! on `READY=1` (sent once the store is open and the server listens), and restarts it when
//! the watchdog pings stop. The pings must mean something, so they come from a task that
//! pings only while the main loop has beaten its [`Heartbeat`] recently: a wedged main loop
//! stops the pings and gets the daemon restarted, while a slow Odoo does not (the loop keeps
//! beating while it waits).
//!
//! Outside systemd (`$NOTIFY_SOCKET` unset) everything here is a no-op.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where notifications go.
#[derive(Debug, Clone)]
enum Target {
    /// `$NOTIFY_SOCKET`, through the sd-notify crate.
    Systemd,
    /// An explicit datagram socket (tests).
    Socket(PathBuf),
    Disabled,
}

/// Sends notifications to the service manager; cheap to clone.
#[derive(Debug, Clone)]
pub struct Notifier {
    target: Target,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// From the environment systemd gives: `$NOTIFY_SOCKET`, `$WATCHDOG_USEC`/`$WATCHDOG_PID`.
    pub fn from_env() -> Self {
        let target = if std::env::var_os("NOTIFY_SOCKET").is_some() {
            Target::Systemd
        } else {
            Target::Disabled
        };
        Notifier {
            target,
            watchdog: sd_notify::watchdog_enabled(),
        }
    }

    pub fn disabled() -> Self {
        Notifier {
            target: Target::Disabled,
            watchdog: None,
        }
    }

    /// Notify an explicit socket with an explicit watchdog period (tests).
    pub fn to_socket(path: PathBuf, watchdog: Option<Duration>) -> Self {
        Notifier {
            target: Target::Socket(path),
            watchdog,
        }
    }

    pub fn is_enabled(&self) -> bool {
        !matches!(self.target, Target::Disabled)
    }

    /// The watchdog period systemd expects, if any.
    pub fn watchdog_period(&self) -> Option<Duration> {
        self.watchdog
    }

    fn send(&self, states: &[sd_notify::NotifyState<'_>]) {
        let result = match &self.target {
            Target::Disabled => Ok(()),
            Target::Systemd => sd_notify::notify(states),
            Target::Socket(path) => {
                let mut msg = String::new();
                for s in states {
                    msg.push_str(&s.to_string());
                    msg.push('\n');
                }
                std::os::unix::net::UnixDatagram::unbound()
                    .and_then(|sock| sock.send_to(msg.as_bytes(), path).map(|_| ()))
            }
        };
        if let Err(e) = result {
            tracing::debug!("sd_notify failed: {e}");
        }
    }

    pub fn ready(&self) {
        self.send(&[sd_notify::NotifyState::Ready]);
    }

    /// A one-line status shown by `systemctl status`.
    pub fn status(&self, status: &str) {
        let line = status.replace('\n', " ");
        self.send(&[sd_notify::NotifyState::Status(&line)]);
    }

    pub fn stopping(&self) {
        self.send(&[sd_notify::NotifyState::Stopping]);
    }

    fn ping(&self) {
        self.send(&[sd_notify::NotifyState::Watchdog]);
    }

    /// Spawn the watchdog task: every half period, ping if `heartbeat` beat within the
    /// period. Returns `None` when systemd asked for no watchdog.
    pub fn spawn_watchdog(&self, heartbeat: Arc<Heartbeat>) -> Option<tokio::task::JoinHandle<()>> {
        let period = self.watchdog?;
        let me = self.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(period / 2);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if heartbeat.is_fresh(period) {
                    me.ping();
                } else {
                    tracing::error!(
                        "main loop silent for {:?}: withholding the watchdog ping (systemd will restart us)",
                        heartbeat.age()
                    );
                }
            }
        }))
    }
}

/// Beaten by the main loop; read by the watchdog task.
#[derive(Debug)]
pub struct Heartbeat {
    origin: Instant,
    last_ms: AtomicU64,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }
}

impl Heartbeat {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn beat(&self) {
        let ms = self.origin.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    pub fn age(&self) -> Duration {
        let now = self.origin.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }

    pub fn is_fresh(&self, within: Duration) -> bool {
        self.age() < within
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket() -> (tempfile::TempDir, PathBuf, std::os::unix::net::UnixDatagram) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let sock = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        (dir, path, sock)
    }

    fn recv(sock: &std::os::unix::net::UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn sends_ready_status_stopping() {
        let (_d, path, sock) = socket();
        let n = Notifier::to_socket(path, None);
        n.ready();
        assert_eq!(recv(&sock), "READY=1\n");
        n.status("syncing 3 channels\nnext line");
        assert_eq!(recv(&sock), "STATUS=syncing 3 channels next line\n");
        n.stopping();
        assert_eq!(recv(&sock), "STOPPING=1\n");
    }

    #[test]
    fn disabled_is_a_no_op() {
        let n = Notifier::disabled();
        assert!(!n.is_enabled());
        n.ready();
        n.status("x");
        n.stopping();
        assert!(n.watchdog_period().is_none());
    }

    #[tokio::test]
    async fn watchdog_pings_only_while_the_loop_beats() {
        let (_d, path, sock) = socket();
        let n = Notifier::to_socket(path, Some(Duration::from_millis(200)));
        let hb = Heartbeat::new();
        hb.beat();
        let task = n.spawn_watchdog(hb.clone()).unwrap();
        let sock = Arc::new(sock);
        let s2 = sock.clone();
        let first = tokio::task::spawn_blocking(move || recv(&s2))
            .await
            .unwrap();
        assert_eq!(first, "WATCHDOG=1\n");
        // the loop stops beating: pings stop once the beat is older than the period
        tokio::time::sleep(Duration::from_millis(400)).await;
        sock.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 64];
        while sock.recv(&mut buf).is_ok() {} // drain pings sent while still fresh
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(sock.recv(&mut buf).is_err(), "no ping for a silent loop");
        // beating again resumes the pings
        hb.beat();
        sock.set_nonblocking(false).unwrap();
        let s3 = sock.clone();
        let again = tokio::task::spawn_blocking(move || recv(&s3))
            .await
            .unwrap();
        assert_eq!(again, "WATCHDOG=1\n");
        task.abort();
    }
}
