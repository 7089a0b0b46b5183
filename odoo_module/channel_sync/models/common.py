# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Helpers shared by the channel_sync models.

The daemon logs in as a technical user that belongs to
``channel_sync.group_channel_daemon``.  The access rules (ACL) let it write
the channel, binding and quarantine models because it must record what it
did; but it must never change the *policy* a merchant set (buffers,
priorities, prices, warehouses...).  ACLs are per model, not per field, so
the field-level part of that rule lives here and is applied in ``write()``.
"""

from odoo.exceptions import AccessError

GROUP_USER = "channel_sync.group_channel_user"
GROUP_MANAGER = "channel_sync.group_channel_manager"
GROUP_DAEMON = "channel_sync.group_channel_daemon"

# Magic fields the ORM may put in a write by itself.
_ALWAYS_ALLOWED = frozenset({"write_date", "write_uid"})


def is_daemon_only(env):
    """True when the current user is the daemon's technical user and not a
    channel manager (the superuser and managers are never restricted)."""
    if env.su:
        return False
    user = env.user
    return user.has_group(GROUP_DAEMON) and not user.has_group(GROUP_MANAGER)


def check_daemon_write(records, vals, allowed_fields):
    """Refuse a write by the daemon's technical user that touches a field
    outside ``allowed_fields``, naming the model and the fields."""
    if not is_daemon_only(records.env):
        return
    forbidden = sorted(set(vals) - set(allowed_fields) - _ALWAYS_ALLOWED)
    if forbidden:
        raise AccessError(
            records.env._(
                "The channel daemon may not change %(fields)s on %(model)s: "
                "these fields are set by a channel manager.",
                fields=", ".join(forbidden),
                model=records._description,
            )
        )
