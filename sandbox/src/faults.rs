//! Fault injection: make the next calls (or the calls to one model/method) misbehave the way a
//! real Odoo behind a proxy does, so the daemon's retry and re-check logic can be tested.

use parking_lot::Mutex;
use std::time::Duration;

/// One way a call can go wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer normally, but only after this delay.
    Latency(Duration),
    /// An HTTP error from a proxy in front of Odoo (502, 503, 504…); the call does not run.
    Http(u16),
    /// `psycopg2.errors.SerializationFailure` surfaces (Odoo gave up retrying); nothing commits.
    SerializationFailure,
    /// The call runs and commits, then the connection dies before the answer is complete:
    /// the client cannot know whether the write happened (an ambiguous write).
    CommitThenDrop,
    /// The call runs and commits, then the answer is held back this long (past the client's
    /// timeout): another kind of ambiguous write.
    CommitThenHang(Duration),
    /// Authentication fails as with an expired or revoked API key (401 / AccessDenied).
    AuthFailure,
}

/// Which calls a fault applies to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub model: Option<String>,
    pub method: Option<String>,
}

impl Scope {
    fn matches(&self, model: &str, method: &str) -> bool {
        self.model.as_deref().is_none_or(|m| m == model)
            && self.method.as_deref().is_none_or(|m| m == method)
    }
}

#[derive(Debug, Clone)]
struct Rule {
    fault: Fault,
    scope: Scope,
    /// How many more calls it hits (`None`: until cleared).
    remaining: Option<usize>,
}

/// The fault table of one sandbox.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
}

impl Faults {
    /// The next `n` model calls (any model, any method) get `fault`.
    pub fn next_calls(&self, n: usize, fault: Fault) {
        self.rules.lock().push(Rule {
            fault,
            scope: Scope::default(),
            remaining: Some(n),
        });
    }

    /// The next `n` calls of `model.method` (`None` = any) get `fault`.
    pub fn on(&self, model: Option<&str>, method: Option<&str>, n: Option<usize>, fault: Fault) {
        self.rules.lock().push(Rule {
            fault,
            scope: Scope {
                model: model.map(str::to_owned),
                method: method.map(str::to_owned),
            },
            remaining: n,
        });
    }

    /// Every call until cleared gets `fault`.
    pub fn always(&self, fault: Fault) {
        self.on(None, None, None, fault);
    }

    pub fn clear(&self) {
        self.rules.lock().clear();
    }

    pub fn pending(&self) -> usize {
        self.rules.lock().len()
    }

    /// The fault for this call, if any (consumes one use of the first matching rule).
    pub fn take(&self, model: &str, method: &str) -> Option<Fault> {
        let mut rules = self.rules.lock();
        let i = rules.iter().position(|r| r.scope.matches(model, method))?;
        let fault = rules[i].fault.clone();
        if let Some(n) = rules[i].remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                rules.remove(i);
            }
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_scoped_and_counted() {
        let f = Faults::default();
        f.on(
            Some("sale.order"),
            Some("create"),
            Some(1),
            Fault::CommitThenDrop,
        );
        f.next_calls(2, Fault::Http(503));
        assert_eq!(f.take("sale.order", "create"), Some(Fault::CommitThenDrop));
        assert_eq!(f.take("sale.order", "create"), Some(Fault::Http(503)));
        assert_eq!(f.take("res.partner", "read"), Some(Fault::Http(503)));
        assert_eq!(f.take("res.partner", "read"), None);
        assert_eq!(f.pending(), 0);
    }
}
