# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime

from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import ChannelSyncCase


@tagged("post_install", "-at_install")
class TestSaleOrder(ChannelSyncCase):
    def _order(self, channel=None, ref=None, **vals):
        values = {
            "partner_id": self.partner.id,
            "order_line": [
                Command.create({"product_id": self.product_mug.id, "product_uom_qty": 2})
            ],
            **vals,
        }
        if channel:
            values.update(channel_id=channel.id, channel_order_ref=ref)
        return self.env["sale.order"].create(values)

    def test_duplicate_order_ref_per_channel(self):
        self._order(self.channel_amz, "111-2222222-3333333")
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self._order(self.channel_amz, "111-2222222-3333333")

    def test_same_order_ref_on_other_channel(self):
        amz = self._order(self.channel_amz, "1001")
        ebay = self._order(self.channel_ebay, "1001")
        self.assertEqual(amz.channel_order_ref, ebay.channel_order_ref)
        self.assertNotEqual(amz.channel_id, ebay.channel_id)

    def test_orders_without_channel_unconstrained(self):
        first = self._order()
        second = self._order()
        self.assertFalse(first.channel_id or second.channel_id)

    def test_channel_order_needs_ref(self):
        with self.assertRaises(ValidationError):
            self.env["sale.order"].create(
                {"partner_id": self.partner.id, "channel_id": self.channel_amz.id}
            )

    def test_copy_drops_channel_fields(self):
        order = self._order(
            self.channel_amz,
            "1002",
            channel_ship_by=datetime(2026, 11, 30, 12, 0, 0),
            channel_fulfilled_by="merchant",
        )
        duplicate = order.copy()
        self.assertFalse(duplicate.channel_id)
        self.assertFalse(duplicate.channel_order_ref)
        self.assertFalse(duplicate.channel_ship_by)

    def test_picking_shows_channel_and_ship_by(self):
        ship_by = datetime(2026, 11, 30, 12, 0, 0)
        order = self._order(
            self.channel_amz,
            "1003",
            channel_ship_by=ship_by,
            channel_fulfilled_by="merchant",
            channel_service_level="Expedited",
        )
        order.action_confirm()
        self.assertTrue(order.picking_ids, "confirming goods creates a delivery")
        for picking in order.picking_ids:
            self.assertEqual(picking.channel_id, self.channel_amz)
            self.assertEqual(picking.channel_ship_by, ship_by)
        self.channel_amz.invalidate_recordset(["order_count"])
        self.assertEqual(self.channel_amz.order_count, 1)

    def test_orders_by_channel_action(self):
        order = self._order(self.channel_amz, "1004")
        self._order()
        action = self.env["ir.actions.actions"]._for_xml_id(
            "channel_sync.sale_order_action_by_channel"
        )
        self.assertEqual(action["res_model"], "sale.order")
        found = self.env["sale.order"].search(
            [("id", "in", (order | self._order()).ids), ("channel_id", "!=", False)]
        )
        self.assertEqual(found, order)
