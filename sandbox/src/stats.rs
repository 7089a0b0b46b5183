//! Call counters per (model, method), for benchmarks and "no write happened" assertions.

use parking_lot::Mutex;
use std::collections::BTreeMap;

/// Methods that never change data.
pub fn is_read_only(method: &str) -> bool {
    matches!(
        method,
        "read"
            | "search"
            | "search_read"
            | "search_count"
            | "fields_get"
            | "name_search"
            | "read_group"
            | "formatted_read_group"
            | "exists"
            | "default_get"
            | "has_access"
            | "check_access_rights"
    )
}

#[derive(Debug, Default)]
pub struct Stats {
    calls: Mutex<BTreeMap<(String, String), u64>>,
}

impl Stats {
    pub fn record(&self, model: &str, method: &str) {
        *self
            .calls
            .lock()
            .entry((model.to_owned(), method.to_owned()))
            .or_default() += 1;
    }

    /// Calls of `model.method` so far.
    pub fn count(&self, model: &str, method: &str) -> u64 {
        self.calls
            .lock()
            .get(&(model.to_owned(), method.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Calls of any method on `model`.
    pub fn model_calls(&self, model: &str) -> u64 {
        self.calls
            .lock()
            .iter()
            .filter(|((m, _), _)| m == model)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn total(&self) -> u64 {
        self.calls.lock().values().sum()
    }

    /// Calls that may have changed data (everything but reads).
    pub fn writes(&self) -> u64 {
        self.calls
            .lock()
            .iter()
            .filter(|((_, meth), _)| !is_read_only(meth))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn snapshot(&self) -> BTreeMap<(String, String), u64> {
        self.calls.lock().clone()
    }

    pub fn reset(&self) {
        self.calls.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_classifies() {
        let s = Stats::default();
        s.record("sale.order", "search_read");
        s.record("sale.order", "create");
        s.record("sale.order", "create");
        assert_eq!(s.count("sale.order", "create"), 2);
        assert_eq!(s.writes(), 2);
        assert_eq!(s.total(), 3);
        s.reset();
        assert_eq!(s.total(), 0);
    }
}
