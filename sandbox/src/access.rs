//! Groups and access: which user belongs to which group (by xml id).

use crate::env::Env;
use serde_json::json;

/// The `res.groups` id of an xml id such as `account.group_account_basic`.
pub fn group_id(env: &Env, xmlid: &str) -> Option<i64> {
    let (module, name) = xmlid.split_once('.')?;
    let d = env.find_one(
        "ir.model.data",
        json!([
            ["module", "=", module],
            ["name", "=", name],
            ["model", "=", "res.groups"]
        ]),
    )?;
    Some(env.get_f64("ir.model.data", d, "res_id") as i64)
}

/// Whether `uid` is in the group (the superuser is in every group).
pub fn user_in_group(env: &Env, uid: i64, xmlid: &str) -> bool {
    if uid == 1 {
        return true;
    }
    let Some(g) = group_id(env, xmlid) else {
        return false;
    };
    env.get_ids("res.users", uid, "group_ids").contains(&g)
}
