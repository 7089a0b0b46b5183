//! What installing `channel_sync` adds to the `demo` database: the module row, its groups
//! (from the addon's security XML, via `data/fields_get/channel_sync/_behaviour.json`), the
//! admin as channel administrator (the XML links `base.user_admin`), its system parameters,
//! and the daemon's technical user configured as the addon's README says (an internal user
//! whose only channel right is *Channel Daemon / Technical User*, with an API key).
//!
//! No demo channels: a merchant's database has none until they create them, and the daemon
//! must say so (`check`) rather than find a convenient one.

use super::Seeder;
use crate::addon;
use crate::env::{ApiKey, Credential, Db};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

/// The daemon's technical user.
pub const DAEMON_UID: i64 = 7;
pub const DAEMON_LOGIN: &str = "odoo-channels";
pub const DAEMON_PASSWORD: &str = "odoo-channels";
/// 40 hex characters, like Odoo's keys.
pub const DAEMON_API_KEY: &str = "c0ffee00d1e5e1bea7c0ffee00d1e5e1bea70007";
const DAEMON_PARTNER: i64 = 45;

/// Core groups the addon's groups imply that the demo seed does not have yet.
const EXTRA_CORE_GROUPS: &[(i64, &str, &str, &str)] = &[(
    12,
    "sales_team",
    "group_sale_salesman_all_leads",
    "Sales / User: All Documents",
)];

pub fn seed(db: &mut Db, stamp: i64) {
    let b = addon::behaviour();
    let mut s = Seeder::new(db, stamp);
    let mut group_ids: HashMap<String, i64> = HashMap::new();
    // The demo seed's groups, by xml id.
    let data_m = s.db.reg.id("ir.model.data").expect("ir.model.data");
    let rows: Vec<(String, i64)> = {
        let reg = s.db.reg.clone();
        let m = reg.m(data_m);
        let (fmod, fname, fmodel, fres) = (
            m.fid("module").expect("module"),
            m.fid("name").expect("name"),
            m.fid("model").expect("model"),
            m.fid("res_id").expect("res_id"),
        );
        s.db.table(data_m)
            .iter()
            .filter(|(_, r)| r.get(fmodel).and_then(|v| v.as_str()) == Some("res.groups"))
            .filter_map(|(_, r)| {
                let module = r.get(fmod)?.as_str()?.to_owned();
                let name = r.get(fname)?.as_str()?.to_owned();
                let res = r.get(fres).map_or(0, |v| v.as_f64() as i64);
                Some((format!("{module}.{name}"), res))
            })
            .collect()
    };
    group_ids.extend(rows);
    let mut data_id = 29_000;
    for (id, module, name, label) in EXTRA_CORE_GROUPS {
        s.put(
            "res.groups",
            *id,
            json!({"name": label.rsplit(" / ").next(), "full_name": label}),
        );
        s.put("ir.model.data", data_id, json!({"module": module, "name": name, "model": "res.groups", "res_id": id, "noupdate": false}));
        data_id += 1;
        group_ids.insert(format!("{module}.{name}"), *id);
    }
    for (i, (xmlid, g)) in b.groups.iter().enumerate() {
        let id = 40 + i as i64;
        let (module, name) = xmlid.split_once('.').unwrap_or((addon::MODULE, xmlid));
        s.put(
            "res.groups",
            id,
            json!({"name": g.name, "full_name": g.full_name.clone().unwrap_or_else(|| g.name.clone())}),
        );
        s.put("ir.model.data", data_id, json!({"module": module, "name": name, "model": "res.groups", "res_id": id, "noupdate": false}));
        data_id += 1;
        group_ids.insert(xmlid.clone(), id);
    }
    // Users the XML links to the groups (root and admin are channel administrators).
    let users = [("base.user_root", 1), ("base.user_admin", 2)];
    for (xmlid, g) in &b.groups {
        for (user_xml, uid) in users {
            if g.users.iter().any(|u| u == user_xml) {
                add_groups(&mut s, uid, &closure(xmlid, &group_ids));
            }
        }
    }
    // The daemon's technical user.
    s.put(
        "res.partner",
        DAEMON_PARTNER,
        json!({"name": "odoo-channels", "complete_name": "odoo-channels", "active": true}),
    );
    let daemon_groups: Vec<i64> = closure("channel_sync.group_channel_daemon", &group_ids)
        .into_iter()
        .collect();
    s.put("res.users", DAEMON_UID, json!({"login": DAEMON_LOGIN, "name": "odoo-channels (technical user)", "partner_id": DAEMON_PARTNER, "company_id": 1, "company_ids": [1], "active": true, "group_ids": daemon_groups, "tz": "UTC", "lang": "en_US"}));
    // System parameters (data/ir_config_parameter.xml).
    for (id, key, value) in [
        (30, "channel_sync.run_retention_days", "90"),
        (31, "channel_sync.stale_after_minutes", "60"),
    ] {
        s.put(
            "ir.config_parameter",
            id,
            json!({"key": key, "value": value}),
        );
    }
    // The module itself.
    let next_module =
        s.db.table(s.db.reg.id("ir.module.module").expect("m"))
            .next_id;
    s.put(
        "ir.module.module",
        next_module,
        json!({"name": addon::MODULE, "shortdesc": "Channel Sync", "latest_version": addon::VERSION,
               "state": "installed", "auto_install": false, "demo": true, "application": true,
               "license": "LGPL-3", "author": "odoo-channels contributors"}),
    );
    drop(s);
    db.credentials.push(Credential {
        uid: DAEMON_UID,
        login: DAEMON_LOGIN.into(),
        password: DAEMON_PASSWORD.into(),
        api_keys: vec![ApiKey {
            key: DAEMON_API_KEY.into(),
            expires_us: None,
            revoked: false,
        }],
    });
}

/// A group and every group it implies (Odoo 19's `all_group_ids`), as res.groups ids.
fn closure(xmlid: &str, ids: &HashMap<String, i64>) -> BTreeSet<i64> {
    let b = addon::behaviour();
    let mut out = BTreeSet::new();
    let mut todo = vec![xmlid.to_owned()];
    while let Some(x) = todo.pop() {
        if let Some(id) = ids.get(&x)
            && !out.insert(*id)
        {
            continue;
        }
        if let Some(g) = b.groups.get(&x) {
            todo.extend(g.implied.iter().cloned());
        }
    }
    out
}

fn add_groups(s: &mut Seeder, uid: i64, groups: &BTreeSet<i64>) {
    let users = s.db.reg.id("res.users").expect("res.users");
    let f =
        s.db.reg
            .m(users)
            .fid("group_ids")
            .expect("res.users.group_ids");
    let mut current: BTreeSet<i64> =
        s.db.table(users)
            .get(uid)
            .and_then(|r| r.get(f))
            .map(|v| v.ids().iter().copied().collect())
            .unwrap_or_default();
    current.extend(groups);
    let list: Box<[i64]> = current.into_iter().collect();
    if let Some(mut rec) = s.db.table(users).get(uid).cloned() {
        rec.set(f, Some(crate::store::Val::Ids(list)));
        s.db.table_mut(users).put(uid, rec);
    }
}
