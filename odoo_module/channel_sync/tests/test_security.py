# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import ChannelSyncCase


@tagged("post_install", "-at_install")
class TestDaemonAccess(ChannelSyncCase):
    """What the daemon's technical user may and may not do."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.binding = cls._binding(cls.channel_amz, cls.product_mug, "AMZ-MUG")

    def test_reads_catalog_and_stock(self):
        product = self.product_mug.with_user(self.daemon)
        self.assertEqual(product.read(["default_code"])[0]["default_code"], "TEST-MUG")
        warehouses = self.env["stock.warehouse"].with_user(self.daemon).search([])
        self.assertTrue(warehouses)
        quants = self.env["stock.quant"].with_user(self.daemon)
        self.assertTrue(quants.has_access("read"))
        channel = self.channel_amz.with_user(self.daemon)
        self.assertEqual(channel.read(["code"])[0]["code"], "test-amz")

    def test_imports_an_order_with_a_new_partner(self):
        partner = self.env["res.partner"].with_user(self.daemon).create(
            {"name": "Marketplace Buyer", "email": "buyer@example.com"}
        )
        partner.write({"phone": "+1 555 0100"})
        order = self.env["sale.order"].with_user(self.daemon).create(
            {
                "partner_id": partner.id,
                "channel_id": self.channel_amz.id,
                "channel_order_ref": "111-9999999-0000001",
                "channel_fulfilled_by": "merchant",
                "order_line": [
                    Command.create(
                        {"product_id": self.product_mug.id, "product_uom_qty": 1}
                    )
                ],
            }
        )
        order.action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.channel_id, self.channel_amz)
        self.assertTrue(order.picking_ids.with_user(self.daemon).read(["channel_id"]))
        message = order.message_post(body="Imported from test-amz")
        self.assertTrue(message)

    def test_records_sync_status_but_not_policy(self):
        channel = self.channel_amz.with_user(self.daemon)
        channel.write(
            {
                "last_stock_sync": fields.Datetime.now(),
                "last_sync_state": "warning",
                "last_sync_message": "3 SKUs unknown",
            }
        )
        self.assertEqual(self.channel_amz.last_sync_state, "warning")
        for vals in (
            {"buffer_percent": 0.0},
            {"priority": 99},
            {"warehouse_ids": [Command.clear()]},
            {"active": False},
            {"code": "hijack"},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                channel.write(vals)

    def test_cannot_create_or_delete_channels(self):
        Channel = self.env["channel.channel"].with_user(self.daemon)
        with self.assertRaises(AccessError):
            Channel.create({"name": "Rogue", "code": "rogue"})
        with self.assertRaises(AccessError):
            self.channel_amz.with_user(self.daemon).unlink()

    def test_binding_marketplace_fields_only(self):
        binding = self.binding.with_user(self.daemon)
        binding.write(
            {
                "listing_ref": "B07XJ8C8F5",
                "listing_state": "active",
                "amazon_asin": "B07XJ8C8F5",
                "last_pushed_qty": 7.0,
                "last_pushed_at": fields.Datetime.now(),
                "last_error": False,
            }
        )
        self.assertEqual(self.binding.listing_state, "active")
        for vals in ({"price": 1.0}, {"external_sku": "X"}, {"amazon_bullet_1": "x"}):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                binding.write(vals)
        with self.assertRaises(AccessError):
            binding.unlink()
        created = self.env["channel.product.binding"].with_user(self.daemon).create(
            {
                "channel_id": self.channel_ebay.id,
                "product_id": self.product_mug.id,
                "external_sku": "EBAY-MUG",
                "listing_ref": "1234567890",
            }
        )
        self.assertEqual(created.create_uid, self.daemon)

    def test_runs_quarantine_chatter_and_logging(self):
        run = self.env["channel.sync.run"].with_user(self.daemon).create(
            {"channel_id": self.channel_amz.id, "job": "orders"}
        )
        run.write(
            {
                "finished_at": fields.Datetime.now(),
                "count_read": 10,
                "count_written": 9,
                "count_failed": 1,
                "state": "partial",
                "error_summary": "1 order quarantined",
            }
        )
        self.assertEqual(run.state, "partial")
        with self.assertRaises(AccessError):
            run.unlink()
        quarantine = self.env["channel.quarantine"].with_user(self.daemon).create(
            {
                "channel_id": self.channel_amz.id,
                "kind": "webhook",
                "external_ref": "evt_1",
                "daemon_ref": "q-webhook-1",
                "reason": "bad signature",
            }
        )
        quarantine.action_discard()
        quarantine.mark_resolved()
        self.assertTrue(quarantine.resolved)
        self.assertTrue(self.channel_amz.with_user(self.daemon).message_post(body="x"))
        self.assertTrue(self.binding.with_user(self.daemon).message_post(body="y"))
        log = self.env["ir.logging"].with_user(self.daemon).create(
            {
                "name": "odoo-channels",
                "type": "server",
                "level": "WARNING",
                "message": "channel test-amz: 1 order quarantined",
                "path": "sync::orders",
                "func": "import",
                "line": "0",
            }
        )
        self.assertTrue(log.id)
        with self.assertRaises(AccessError):
            self.env["ir.logging"].with_user(self.daemon).search([])

    def test_finance_variant_implies_invoicing(self):
        finance = new_test_user(
            self.env,
            login="cs_daemon_fin",
            groups="channel_sync.group_channel_daemon_finance",
        )
        self.assertTrue(finance.has_group("channel_sync.group_channel_daemon"))
        self.assertTrue(finance.has_group("account.group_account_invoice"))
        self.assertFalse(self.daemon.has_group("account.group_account_invoice"))
        self.assertFalse(self.daemon.has_group("channel_sync.group_channel_manager"))


@tagged("post_install", "-at_install")
class TestUserAccess(ChannelSyncCase):
    def test_channel_user_reads_only(self):
        channel = self.channel_amz.with_user(self.channel_user)
        self.assertEqual(channel.read(["name"])[0]["name"], "Amazon Test")
        self.assertIn(channel.health, ("never", "ok", "warning", "error"))
        with self.assertRaises(AccessError):
            channel.write({"buffer_percent": 1.0})
        for model in (
            "channel.product.binding",
            "channel.sync.run",
            "channel.quarantine",
        ):
            records = self.env[model].with_user(self.channel_user)
            self.assertTrue(records.has_access("read"), model)
            self.assertFalse(records.has_access("write"), model)

    def test_manager_configures(self):
        channel = self.channel_amz.with_user(self.manager)
        channel.write({"buffer_percent": 10.0, "priority": 5})
        self.assertEqual(self.channel_amz.buffer_percent, 10.0)
        binding = self.env["channel.product.binding"].with_user(self.manager).create(
            {
                "channel_id": self.channel_amz.id,
                "product_id": self.product_cap.id,
                "external_sku": "AMZ-CAP",
                "price": 19.5,
            }
        )
        binding.unlink()

    def test_employee_sees_channel_name_only(self):
        order = self.env["sale.order"].create(
            {
                "partner_id": self.partner.id,
                "channel_id": self.channel_amz.id,
                "channel_order_ref": "E-1",
            }
        )
        self.assertEqual(
            self.channel_amz.with_user(self.employee).read(["name"])[0]["name"],
            "Amazon Test",
        )
        self.assertFalse(
            self.env["channel.product.binding"].with_user(self.employee).has_access("read")
        )
        self.assertTrue(order.id)

    def test_multi_company_rules(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        other_channel = self.env["channel.channel"].create(
            {"name": "Other", "code": "test-other", "company_id": other_company.id}
        )
        binding = self.env["channel.product.binding"].create(
            {
                "channel_id": other_channel.id,
                "product_id": self.product_mug.id,
                "external_sku": "OTHER-MUG",
            }
        )
        self.assertEqual(binding.company_id, other_company)
        for model, record in (
            ("channel.channel", other_channel),
            ("channel.product.binding", binding),
        ):
            visible = self.env[model].with_user(self.manager).search([])
            self.assertNotIn(record, visible, model)
        self.manager.write({"company_ids": [Command.link(other_company.id)]})
        visible = (
            self.env["channel.channel"]
            .with_user(self.manager)
            .with_context(allowed_company_ids=[self.company.id, other_company.id])
            .search([])
        )
        self.assertIn(other_channel, visible)
