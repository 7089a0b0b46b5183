//! The process exit codes, in one place (`--help` prints this table).

use std::fmt;

/// Why the process ended. The numbers are a contract with scripts and systemd units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// A runtime failure not covered below (includes "not wired yet" components).
    Failure = 1,
    /// Wrong command-line usage (clap's own code).
    Usage = 2,
    /// The configuration file is missing, unreadable or invalid.
    Config = 3,
    /// Odoo unreachable, or it refused the credentials.
    Odoo = 4,
    /// `check` ran and found problems.
    CheckFailed = 5,
    /// The state store could not be opened, migrated or written.
    Store = 6,
}

impl Exit {
    pub const ALL: [Exit; 7] = [
        Exit::Ok,
        Exit::Failure,
        Exit::Usage,
        Exit::Config,
        Exit::Odoo,
        Exit::CheckFailed,
        Exit::Store,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "success",
            Exit::Failure => "runtime failure (including components not wired yet)",
            Exit::Usage => "wrong command-line usage",
            Exit::Config => "configuration missing or invalid",
            Exit::Odoo => "Odoo unreachable or credentials refused",
            Exit::CheckFailed => "`check` found problems",
            Exit::Store => "state store cannot be opened, migrated or written",
        }
    }
}

/// The table for `--help`.
pub fn help_text() -> String {
    let mut s = String::from("Exit codes:\n");
    for e in Exit::ALL {
        s.push_str(&format!("  {}  {}\n", e.code(), e.meaning()));
    }
    s
}

/// An error that knows its exit code.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub error: anyhow::Error,
}

impl CliError {
    pub fn new(exit: Exit, error: impl Into<anyhow::Error>) -> Self {
        CliError {
            exit,
            error: error.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

/// Shorthand: `.exit_with(Exit::Store)?`.
pub trait ExitWith<T> {
    fn exit_with(self, exit: Exit) -> Result<T, CliError>;
}

impl<T, E: Into<anyhow::Error>> ExitWith<T> for Result<T, E> {
    fn exit_with(self, exit: Exit) -> Result<T, CliError> {
        self.map_err(|e| CliError::new(exit, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_documented() {
        let codes: Vec<i32> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6]);
        let help = help_text();
        for e in Exit::ALL {
            assert!(help.contains(&format!("  {}  {}", e.code(), e.meaning())));
        }
    }
}
