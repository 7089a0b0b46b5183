//! The typed API the rest of the daemon uses. Every method builds one [`Call`] in
//! named-argument form and normalises what differs between versions and transports.

use super::client::OdooClient;
use super::decode::{self, M2o, Record};
use super::domain::Domain;
use super::error::{CallKind, DecodeError, OdooError};
use super::transport::Call;
use odoo_wire::versions::GroupMethod;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub type Context = Map<String, Value>;

/// Options of `search_read` / `search`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchOpts {
    /// Odoo `order`, e.g. `"write_date asc, id asc"`.
    pub order: Option<String>,
    pub limit: Option<usize>,
    pub offset: usize,
    pub context: Option<Context>,
    /// `load=None`: many2one as bare ids, no display names. By far the cheapest read.
    pub load_none: bool,
}

impl SearchOpts {
    pub fn order(mut self, order: impl Into<String>) -> Self {
        self.order = Some(order.into());
        self
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }
    pub fn context(mut self, context: Context) -> Self {
        self.context = Some(context);
        self
    }
    pub fn load_none(mut self) -> Self {
        self.load_none = true;
        self
    }
}

/// A grouping value of a [`GroupRow`].
#[derive(Debug, Clone, PartialEq)]
pub enum GroupKey {
    /// A many2one group: `[id, name]`.
    Record(M2o),
    /// Any other grouping value (selection, date bucket, …).
    Value(Value),
    /// The group of records where the field is empty.
    Empty,
}

impl GroupKey {
    pub fn id(&self) -> Option<i64> {
        match self {
            GroupKey::Record(m) => Some(m.id),
            _ => None,
        }
    }
}

/// One group of [`OdooClient::grouped_sums`], the same whichever method Odoo offered.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub keys: BTreeMap<String, GroupKey>,
    /// Records in the group (`None` when the row does not carry a count).
    pub count: Option<u64>,
    pub sums: BTreeMap<String, Decimal>,
}

/// Chatter message kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Internal note (`mail.mt_note`): followers are not notified.
    Note,
    /// Message to followers (`mail.mt_comment`).
    Comment,
}

/// An `ir.logging` row: how the daemon reports on records that have no chatter.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub name: String,
    /// `DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL`.
    pub level: String,
    pub message: String,
    pub path: String,
    pub func: String,
    pub line: String,
}

fn expect_ids(model: &str, method: &str, v: &Value) -> Result<Vec<i64>, OdooError> {
    decode::x2many_from(v).map_err(|reason| {
        OdooError::Decode(DecodeError {
            model: model.to_owned(),
            id: None,
            field: format!("({method} result)"),
            reason,
        })
    })
}

fn expect_rows(model: &str, method: &str, v: Value) -> Result<Vec<Value>, OdooError> {
    match v {
        Value::Array(rows) => Ok(rows),
        other => Err(OdooError::Decode(DecodeError {
            model: model.to_owned(),
            id: None,
            field: format!("({method} result)"),
            reason: format!("expected a list of records, got {other}"),
        })),
    }
}

fn fields_value(fields: &[&str]) -> Value {
    json!(fields)
}

impl OdooClient {
    /// Any public method. Names starting with `_` are refused locally.
    pub async fn call(
        &self,
        model: &str,
        method: &str,
        ids: Option<&[i64]>,
        kwargs: Map<String, Value>,
        context: Option<&Context>,
        kind: CallKind,
    ) -> Result<Value, OdooError> {
        let mut call = Call::new(model, method, kind)
            .kwargs(kwargs)
            .context(context);
        if let Some(ids) = ids {
            call = call.ids(ids.to_vec());
        }
        self.execute(call).await
    }

    pub async fn search_read(
        &self,
        model: &str,
        domain: &Domain,
        fields: &[&str],
        opts: &SearchOpts,
    ) -> Result<Vec<Value>, OdooError> {
        let mut call = Call::read(model, "search_read")
            .arg("domain", domain.to_value())
            .arg("fields", fields_value(fields))
            .context(opts.context.as_ref());
        if let Some(o) = &opts.order {
            call = call.arg("order", o.as_str());
        }
        if let Some(l) = opts.limit {
            call = call.arg("limit", l);
        }
        if opts.offset > 0 {
            call = call.arg("offset", opts.offset);
        }
        if opts.load_none {
            call = call.arg("load", Value::Null);
        }
        expect_rows(model, "search_read", self.execute(call).await?)
    }

    /// Pages through every matching record, keyset on `id` (stable under concurrent inserts
    /// and deletes, unlike offsets). `opts.order`, `limit` and `offset` are ignored.
    pub fn search_read_pages<'a>(
        &'a self,
        model: &'a str,
        domain: &Domain,
        fields: &[&str],
        opts: &SearchOpts,
    ) -> Pages<'a> {
        let mut fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        if !fields.is_empty() && !fields.iter().any(|f| f == "id") {
            fields.push("id".into());
        }
        Pages {
            client: self,
            model,
            domain: domain.clone(),
            fields,
            context: opts.context.clone(),
            load_none: opts.load_none,
            after: None,
            done: false,
        }
    }

    /// [`Self::search_read_pages`], collected.
    pub async fn search_read_all(
        &self,
        model: &str,
        domain: &Domain,
        fields: &[&str],
        opts: &SearchOpts,
    ) -> Result<Vec<Value>, OdooError> {
        let mut pages = self.search_read_pages(model, domain, fields, opts);
        let mut all = Vec::new();
        while let Some(page) = pages.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }

    /// `read`, in batches of `batch_size` ids. Ids that do not exist are simply absent.
    pub async fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[&str],
        context: Option<&Context>,
    ) -> Result<Vec<Value>, OdooError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.batch_size().max(1)) {
            let call = Call::read(model, "read")
                .ids(chunk.to_vec())
                .arg("fields", fields_value(fields))
                .context(context);
            out.extend(expect_rows(model, "read", self.execute(call).await?)?);
        }
        Ok(out)
    }

    pub async fn search(
        &self,
        model: &str,
        domain: &Domain,
        opts: &SearchOpts,
    ) -> Result<Vec<i64>, OdooError> {
        let mut call = Call::read(model, "search")
            .arg("domain", domain.to_value())
            .context(opts.context.as_ref());
        if let Some(o) = &opts.order {
            call = call.arg("order", o.as_str());
        }
        if let Some(l) = opts.limit {
            call = call.arg("limit", l);
        }
        if opts.offset > 0 {
            call = call.arg("offset", opts.offset);
        }
        let v = self.execute(call).await?;
        expect_ids(model, "search", &v)
    }

    pub async fn search_count(
        &self,
        model: &str,
        domain: &Domain,
        context: Option<&Context>,
    ) -> Result<u64, OdooError> {
        let call = Call::read(model, "search_count")
            .arg("domain", domain.to_value())
            .context(context);
        let v = self.execute(call).await?;
        v.as_u64().ok_or_else(|| {
            OdooError::Decode(DecodeError {
                model: model.to_owned(),
                id: None,
                field: "(search_count result)".into(),
                reason: format!("expected a count, got {v}"),
            })
        })
    }

    /// Create one record; its id.
    pub async fn create(
        &self,
        model: &str,
        values: Map<String, Value>,
        context: Option<&Context>,
    ) -> Result<i64, OdooError> {
        let ids = self.create_many(model, vec![values], context).await?;
        match ids.as_slice() {
            [id] => Ok(*id),
            other => Err(OdooError::Decode(DecodeError {
                model: model.to_owned(),
                id: None,
                field: "(create result)".into(),
                reason: format!("expected one new id, got {other:?}"),
            })),
        }
    }

    /// Create several records in one call (one transaction); their ids, in order.
    pub async fn create_many(
        &self,
        model: &str,
        vals_list: Vec<Map<String, Value>>,
        context: Option<&Context>,
    ) -> Result<Vec<i64>, OdooError> {
        let call = Call::write(model, "create")
            .arg(
                "vals_list",
                Value::Array(vals_list.into_iter().map(Value::Object).collect()),
            )
            .context(context);
        let v = self.execute(call).await?;
        // `create(dict)` answers an int over execute_kw; a list is always sent, but accept both.
        match &v {
            Value::Number(_) => expect_ids(model, "create", &json!([v])),
            _ => expect_ids(model, "create", &v),
        }
    }

    pub async fn write(
        &self,
        model: &str,
        ids: &[i64],
        values: Map<String, Value>,
        context: Option<&Context>,
    ) -> Result<(), OdooError> {
        let call = Call::write(model, "write")
            .ids(ids.to_vec())
            .arg("vals", Value::Object(values))
            .context(context);
        self.execute(call).await.map(drop)
    }

    pub async fn unlink(
        &self,
        model: &str,
        ids: &[i64],
        context: Option<&Context>,
    ) -> Result<(), OdooError> {
        let call = Call::write(model, "unlink")
            .ids(ids.to_vec())
            .context(context);
        self.execute(call).await.map(drop)
    }

    /// Field definitions, keyed by field name.
    pub async fn fields_get(
        &self,
        model: &str,
        attributes: &[&str],
    ) -> Result<Map<String, Value>, OdooError> {
        let mut call = Call::read(model, "fields_get");
        if !attributes.is_empty() {
            call = call.arg("attributes", json!(attributes));
        }
        match self.execute(call).await? {
            Value::Object(m) => Ok(m),
            other => Err(OdooError::Decode(DecodeError {
                model: model.to_owned(),
                id: None,
                field: "(fields_get result)".into(),
                reason: format!("expected an object, got {other}"),
            })),
        }
    }

    /// Sums per group, through `read_group(lazy=False)` (16–18) or `formatted_read_group`
    /// (19+) as the version map says; rows normalised to one shape.
    pub async fn grouped_sums(
        &self,
        model: &str,
        domain: &Domain,
        groupby: &[&str],
        sum_fields: &[&str],
    ) -> Result<Vec<GroupRow>, OdooError> {
        let aggregates: Vec<String> = sum_fields.iter().map(|f| format!("{f}:sum")).collect();
        let group_method = self.map().group_method;
        let call = match group_method {
            GroupMethod::ReadGroup => Call::read(model, "read_group")
                .arg("domain", domain.to_value())
                .arg("fields", json!(aggregates))
                .arg("groupby", json!(groupby))
                .arg("lazy", false),
            GroupMethod::FormattedReadGroup => {
                let mut aggs = aggregates.clone();
                aggs.push("__count".into());
                Call::read(model, "formatted_read_group")
                    .arg("domain", domain.to_value())
                    .arg("groupby", json!(groupby))
                    .arg("aggregates", json!(aggs))
            }
        };
        let method = call.method.clone();
        let rows = expect_rows(model, &method, self.execute(call).await?)?;
        rows.iter()
            .map(|row| normalise_group_row(model, row, groupby, sum_fields, group_method))
            .collect::<Result<_, _>>()
            .map_err(OdooError::Decode)
    }

    /// Post on a record's chatter; the new message id (Odoo 19 answers a list, older an int).
    pub async fn message_post(
        &self,
        model: &str,
        id: i64,
        body_html: &str,
        kind: MessageKind,
    ) -> Result<i64, OdooError> {
        let subtype = match kind {
            MessageKind::Note => "mail.mt_note",
            MessageKind::Comment => "mail.mt_comment",
        };
        let call = if self.map().message_post_body_is_html {
            Call::write(model, "message_post")
                .ids(vec![id])
                .arg("body", body_html)
                .arg("body_is_html", true)
        } else {
            // Odoo 16 escapes an RPC body: send the text, not markup it would show literally.
            Call::write(model, "message_post")
                .ids(vec![id])
                .arg("body", decode::html_to_text(body_html))
        }
        .arg("message_type", "comment")
        .arg("subtype_xmlid", subtype);
        let v = self.execute(call).await?;
        let ids = match &v {
            Value::Number(_) => expect_ids("mail.message", "message_post", &json!([v]))?,
            _ => expect_ids("mail.message", "message_post", &v)?,
        };
        ids.first().copied().ok_or_else(|| {
            OdooError::Decode(DecodeError {
                model: "mail.message".into(),
                id: None,
                field: "(message_post result)".into(),
                reason: format!("expected a message id, got {v}"),
            })
        })
    }

    /// Write an `ir.logging` row (for records without chatter); its id.
    pub async fn ir_logging(&self, entry: &LogEntry) -> Result<i64, OdooError> {
        let mut vals = Map::new();
        vals.insert("name".into(), json!(entry.name));
        vals.insert("type".into(), json!("server"));
        vals.insert("dbname".into(), json!(self.database()));
        vals.insert("level".into(), json!(entry.level));
        vals.insert("message".into(), json!(entry.message));
        vals.insert("path".into(), json!(entry.path));
        vals.insert("func".into(), json!(entry.func));
        vals.insert("line".into(), json!(entry.line));
        self.create("ir.logging", vals, None).await
    }
}

/// Keyset pages of a `search_read`, ordered by id.
pub struct Pages<'a> {
    client: &'a OdooClient,
    model: &'a str,
    domain: Domain,
    fields: Vec<String>,
    context: Option<Context>,
    load_none: bool,
    after: Option<i64>,
    done: bool,
}

impl Pages<'_> {
    /// The next page, or `None` when every record was returned.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, OdooError> {
        if self.done {
            return Ok(None);
        }
        let size = self.client.batch_size().max(1);
        let domain = match self.after {
            Some(last) => self.domain.clone().and(("id", ">", last)),
            None => self.domain.clone(),
        };
        let fields: Vec<&str> = self.fields.iter().map(String::as_str).collect();
        let mut opts = SearchOpts::default().order("id asc").limit(size);
        opts.context = self.context.clone();
        opts.load_none = self.load_none;
        let rows = self
            .client
            .search_read(self.model, &domain, &fields, &opts)
            .await?;
        if rows.len() < size {
            self.done = true;
        }
        if rows.is_empty() {
            return Ok(None);
        }
        let last = rows
            .last()
            .and_then(|r| r.get("id"))
            .and_then(Value::as_i64);
        match last {
            Some(id) if self.after.is_none_or(|a| id > a) => self.after = Some(id),
            _ => {
                return Err(OdooError::Decode(DecodeError {
                    model: self.model.to_owned(),
                    id: last,
                    field: "id".into(),
                    reason: "paging by id needs rows in increasing id order".into(),
                }));
            }
        }
        Ok(Some(rows))
    }
}

/// Normalise one `read_group(lazy=False)` or `formatted_read_group` row (pure; used by
/// [`OdooClient::grouped_sums`] and the contract tests).
pub fn normalise_group_row(
    model: &str,
    row: &Value,
    groupby: &[&str],
    sum_fields: &[&str],
    method: GroupMethod,
) -> Result<GroupRow, DecodeError> {
    let rec = Record::new(model, row)?;
    let mut keys = BTreeMap::new();
    for g in groupby {
        let v = rec.value(g)?;
        let key = match v {
            Value::Bool(false) | Value::Null => GroupKey::Empty,
            Value::Array(_) => GroupKey::Record(
                decode::m2o_from(v)
                    .map_err(|r| rec.err(g, r))?
                    .ok_or_else(|| rec.err(g, "empty group"))?,
            ),
            other => GroupKey::Value(other.clone()),
        };
        keys.insert((*g).to_owned(), key);
    }
    // `__count` (lazy=False, formatted_read_group with `__count` asked), or lazy
    // read_group's `<first groupby>_count`.
    let lazy_key = format!("{}_count", groupby.first().copied().unwrap_or(""));
    let count_key = ["__count", lazy_key.as_str()]
        .into_iter()
        .find(|k| rec.map.contains_key(*k));
    let count = match count_key {
        None => None,
        Some(k) => Some(
            rec.int(k)?
                .and_then(|c| u64::try_from(c).ok())
                .ok_or_else(|| rec.err(k, "expected a group count"))?,
        ),
    };
    let mut sums = BTreeMap::new();
    for f in sum_fields {
        let key = match method {
            GroupMethod::ReadGroup => (*f).to_owned(),
            GroupMethod::FormattedReadGroup => format!("{f}:sum"),
        };
        let d = rec.decimal(&key)?.unwrap_or(Decimal::ZERO);
        sums.insert((*f).to_owned(), d);
    }
    Ok(GroupRow { keys, count, sums })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn both_group_shapes_normalise_alike() {
        let rg = json!({"product_id": [15, "Desk"], "warehouse_id": [1, "WH"], "__count": 2, "quantity": 65.0, "reserved_quantity": 1.5, "__domain": []});
        let frg = json!({"product_id": [15, "Desk"], "warehouse_id": [1, "WH"], "__extra_domain": [], "quantity:sum": 65.0, "reserved_quantity:sum": 1.5, "__count": 2});
        let g = ["product_id", "warehouse_id"];
        let s = ["quantity", "reserved_quantity"];
        let a = normalise_group_row("stock.quant", &rg, &g, &s, GroupMethod::ReadGroup).unwrap();
        let b = normalise_group_row("stock.quant", &frg, &g, &s, GroupMethod::FormattedReadGroup)
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.count, Some(2));
        assert_eq!(a.sums["reserved_quantity"], dec!(1.5));
        assert_eq!(a.keys["product_id"].id(), Some(15));
        // Lazy read_group rows count under `<groupby>_count`.
        let lazy = json!({"product_id": [15, "Desk"], "product_id_count": 1, "quantity": 65.0});
        let r = normalise_group_row(
            "stock.quant",
            &lazy,
            &["product_id"],
            &["quantity"],
            GroupMethod::ReadGroup,
        )
        .unwrap();
        assert_eq!(r.count, Some(1));
    }
}
