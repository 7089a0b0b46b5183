//! Shopify's search syntax (the `query:` argument of connections), the part the sandbox needs:
//! terms `field:value`, comparators `:>` `:>=` `:<` `:<=`, values bare or quoted ('…' or "…",
//! backslash escapes), negation (`-field:value`, `NOT field:value`), implicit `AND`, explicit
//! `AND` and `OR` (OR binds looser; no parentheses). A bare word is a "default" term (matched
//! against a record's title-ish fields by the caller).
//!
//! Unknown fields match everything, as Shopify ignores filters it does not know (it warns in
//! `extensions.search`).

use std::cmp::Ordering;

use jiff::Timestamp;
use rust_decimal::Decimal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub negated: bool,
    /// `None` for a bare word.
    pub field: Option<String>,
    pub cmp: Cmp,
    pub value: String,
}

/// OR of AND-groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub groups: Vec<Vec<Term>>,
}

/// A record's value for a search field.
pub enum Val {
    Str(String),
    Strs(Vec<String>),
    Time(Timestamp),
    Num(Decimal),
    Bool(bool),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid search query: {0}")]
pub struct SearchError(pub String);

fn tokens(q: &str) -> Result<Vec<String>, SearchError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = q.chars().peekable();
    let mut quoted_any = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                quoted_any = true;
                let close = c;
                // Keep a marker so `sku:"A B"` stays one token; quotes are removed.
                loop {
                    match chars.next() {
                        None => return Err(SearchError("unterminated quote".into())),
                        Some('\\') => match chars.next() {
                            Some(e) => cur.push(e),
                            None => return Err(SearchError("dangling escape".into())),
                        },
                        Some(x) if x == close => break,
                        Some(x) => cur.push(x),
                    }
                }
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() || quoted_any {
                    out.push(std::mem::take(&mut cur));
                }
                quoted_any = false;
            }
            '\\' => {
                if let Some(e) = chars.next() {
                    cur.push(e);
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() || quoted_any {
        out.push(cur);
    }
    Ok(out)
}

impl SearchQuery {
    pub fn parse(q: &str) -> Result<Self, SearchError> {
        let mut groups = vec![Vec::new()];
        let mut negate_next = false;
        // Re-tokenise keeping the field separate from a quoted value: `sku:"A B"` → the raw
        // text is split on the first ':' before quote handling, so tokenise per term.
        for tok in split_terms(q)? {
            match tok.as_str() {
                "OR" => {
                    groups.push(Vec::new());
                    continue;
                }
                "AND" => continue,
                "NOT" => {
                    negate_next = true;
                    continue;
                }
                _ => {}
            }
            let (negated, body) = match tok.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (true, rest.to_string()),
                _ => (false, tok.clone()),
            };
            let negated = negated ^ std::mem::take(&mut negate_next);
            let term = match body.split_once(':') {
                Some((field, rest)) if !field.is_empty() && is_field_name(field) => {
                    let (cmp, raw) = if let Some(v) = rest.strip_prefix(">=") {
                        (Cmp::Ge, v)
                    } else if let Some(v) = rest.strip_prefix("<=") {
                        (Cmp::Le, v)
                    } else if let Some(v) = rest.strip_prefix('>') {
                        (Cmp::Gt, v)
                    } else if let Some(v) = rest.strip_prefix('<') {
                        (Cmp::Lt, v)
                    } else {
                        (Cmp::Eq, rest)
                    };
                    let value = unquote(raw)?;
                    Term {
                        negated,
                        field: Some(field.to_ascii_lowercase()),
                        cmp,
                        value,
                    }
                }
                _ => Term {
                    negated,
                    field: None,
                    cmp: Cmp::Eq,
                    value: unquote(&body)?,
                },
            };
            if let Some(g) = groups.last_mut() {
                g.push(term);
            }
        }
        groups.retain(|g| !g.is_empty());
        Ok(Self { groups })
    }

    /// Whether a record matches; `get` gives the record's value of a field (`None`: the
    /// record has no such field, or the field is unknown → the term matches).
    pub fn matches(&self, get: impl Fn(Option<&str>) -> Option<Val>) -> bool {
        if self.groups.is_empty() {
            return true;
        }
        self.groups.iter().any(|g| {
            g.iter().all(|t| {
                let hit = match get(t.field.as_deref()) {
                    None => true,
                    Some(v) => term_matches(t, &v),
                };
                hit != t.negated
            })
        })
    }

    /// Values of `field` used with `:` (equality), across all groups (e.g. the SKUs asked for).
    pub fn values_of(&self, field: &str) -> Vec<String> {
        self.groups
            .iter()
            .flatten()
            .filter(|t| t.field.as_deref() == Some(field) && t.cmp == Cmp::Eq && !t.negated)
            .map(|t| t.value.clone())
            .collect()
    }
}

fn is_field_name(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Splits on whitespace outside quotes, keeping quotes in the token (removed by `unquote`).
fn split_terms(q: &str) -> Result<Vec<String>, SearchError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = q.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                cur.push('\\');
                if let Some(e) = chars.next() {
                    cur.push(e);
                }
            }
            (Some(qc), c) if c == qc => {
                quote = None;
                cur.push(c);
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err(SearchError("unterminated quote".into()));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn unquote(raw: &str) -> Result<String, SearchError> {
    let t = tokens(raw)?;
    Ok(t.join(" "))
}

fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    // A bare date means midnight UTC.
    format!("{s}T00:00:00Z").parse().ok()
}

fn term_matches(t: &Term, v: &Val) -> bool {
    let ord = |o: Option<Ordering>| -> bool {
        let Some(o) = o else { return false };
        match t.cmp {
            Cmp::Eq => o == Ordering::Equal,
            Cmp::Gt => o == Ordering::Greater,
            Cmp::Ge => o != Ordering::Less,
            Cmp::Lt => o == Ordering::Less,
            Cmp::Le => o != Ordering::Greater,
        }
    };
    match v {
        Val::Str(s) => match t.cmp {
            Cmp::Eq => s.eq_ignore_ascii_case(&t.value),
            _ => ord(Some(s.as_str().cmp(t.value.as_str()))),
        },
        Val::Strs(list) => list.iter().any(|s| s.eq_ignore_ascii_case(&t.value)),
        Val::Time(ts) => ord(parse_time(&t.value).map(|q| ts.cmp(&q))),
        Val::Num(n) => ord(t.value.parse::<Decimal>().ok().map(|q| n.cmp(&q))),
        Val::Bool(b) => t.value.parse::<bool>().is_ok_and(|q| q == *b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terms_comparators_quotes_and_or() {
        let q =
            SearchQuery::parse(r#"updated_at:>='2025-01-01T00:00:00Z' -status:cancelled"#).unwrap();
        assert_eq!(q.groups.len(), 1);
        assert_eq!(q.groups[0][0].cmp, Cmp::Ge);
        assert_eq!(q.groups[0][0].value, "2025-01-01T00:00:00Z");
        assert!(q.groups[0][1].negated);
        let q = SearchQuery::parse(r#"sku:"A B" OR sku:'C\'D' OR sku:E"#).unwrap();
        assert_eq!(q.values_of("sku"), vec!["A B", "C'D", "E"]);
        assert!(SearchQuery::parse("sku:\"open").is_err());
    }

    #[test]
    fn matches_times_and_strings() {
        let q = SearchQuery::parse("updated_at:>2025-01-02 status:paid").unwrap();
        let t: Timestamp = "2025-01-02T00:00:01Z".parse().unwrap();
        let rec = |f: Option<&str>| match f {
            Some("updated_at") => Some(Val::Time(t)),
            Some("status") => Some(Val::Str("PAID".into())),
            _ => None,
        };
        assert!(q.matches(rec));
        let q = SearchQuery::parse("updated_at:>2025-01-03").unwrap();
        assert!(!q.matches(rec));
        let q = SearchQuery::parse("unknown_field:x").unwrap();
        assert!(q.matches(rec), "unknown fields are ignored");
    }
}
