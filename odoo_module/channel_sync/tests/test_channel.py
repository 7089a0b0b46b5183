# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import ChannelSyncCase


@tagged("post_install", "-at_install")
class TestChannel(ChannelSyncCase):
    def test_code_format_valid(self):
        for code in ("amazon-us", "ebay_de", "tiktok1", "a", "shop-2-eu_b"):
            channel = self.env["channel.channel"].create(
                {"name": f"Valid {code}", "code": f"v-{code}"}
            )
            self.assertEqual(channel.code, f"v-{code}")

    def test_code_format_invalid(self):
        for code in ("Amazon US", "amz/us", "AMZ", "amz.us", "amz us", "ämz", " amz"):
            with self.subTest(code=code), self.assertRaises(ValidationError):
                self.env["channel.channel"].create({"name": "Bad", "code": code})

    def test_code_format_checked_on_write(self):
        with self.assertRaises(ValidationError):
            self.channel_amz.write({"code": "Amazon"})

    def test_code_unique(self):
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.env["channel.channel"].create({"name": "Twin", "code": "test-amz"})

    def test_buffer_percent_range(self):
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.channel_amz.write({"buffer_percent": 150.0})

    def test_buffer_units_not_negative(self):
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.channel_amz.write({"buffer_units": -1.0})

    def test_copy_gets_a_new_code(self):
        copy = self.channel_amz.copy()
        self.assertEqual(copy.code, "test-amz-copy")
        self.assertFalse(copy.last_sync_state)

    def test_search_by_code(self):
        found = self.env["channel.channel"].name_search("test_ebay")
        self.assertIn(self.channel_ebay.id, [channel_id for channel_id, _name in found])

    def test_health(self):
        now = fields.Datetime.now()
        self.env["ir.config_parameter"].sudo().set_param(
            "channel_sync.stale_after_minutes", "60"
        )
        channel = self.channel_amz
        self.assertEqual(channel.health, "never")
        self.assertEqual(channel.color, 0)

        channel.write({"last_stock_sync": now, "last_sync_state": "ok"})
        self.assertEqual(channel.health, "ok")
        self.assertEqual(channel.color, 10)
        self.assertEqual(channel.last_sync_at, now)

        channel.write({"last_stock_sync": now - timedelta(hours=3)})
        self.assertEqual(channel.health, "warning", "stale channel")

        channel.write({"last_stock_sync": now, "last_sync_state": "warning"})
        self.assertEqual(channel.health, "warning")

        channel.write({"last_sync_state": "error"})
        self.assertEqual(channel.health, "error")
        self.assertEqual(channel.color, 1)

        channel.write({"last_sync_state": "ok"})
        self.env["channel.quarantine"].create(
            {"channel_id": channel.id, "kind": "order", "reason": "unknown SKU"}
        )
        channel.invalidate_recordset(["health", "quarantine_open_count"])
        self.assertEqual(channel.quarantine_open_count, 1)
        self.assertEqual(channel.health, "warning", "records held in quarantine")

    def test_stale_check_can_be_disabled(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "channel_sync.stale_after_minutes", "0"
        )
        self.channel_amz.write(
            {
                "last_order_sync": fields.Datetime.now() - timedelta(days=30),
                "last_sync_state": "ok",
            }
        )
        self.assertEqual(self.channel_amz.health, "ok")

    def test_counts_and_smart_buttons(self):
        self._binding(self.channel_amz, self.product_mug, "AMZ-MUG")
        self.channel_amz.invalidate_recordset(["binding_count"])
        self.assertEqual(self.channel_amz.binding_count, 1)
        action = self.channel_amz.action_view_bindings()
        self.assertEqual(action["res_model"], "channel.product.binding")
        self.assertEqual(action["domain"], [("channel_id", "=", self.channel_amz.id)])
        for method in ("action_view_orders", "action_view_runs", "action_view_quarantine"):
            action = getattr(self.channel_amz, method)()
            self.assertEqual(action["context"]["default_channel_id"], self.channel_amz.id)
