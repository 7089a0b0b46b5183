# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests.common import TransactionCase, new_test_user


class ChannelSyncCase(TransactionCase):
    """Users of each role, two channels and two products.

    Channel codes avoid the demo data's codes (``sandbox``,
    ``shopify-main``) so that the tests pass with or without demo data."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.manager = new_test_user(
            cls.env,
            login="cs_manager",
            groups="channel_sync.group_channel_manager",
        )
        cls.channel_user = new_test_user(
            cls.env,
            login="cs_user",
            groups="channel_sync.group_channel_user",
        )
        cls.daemon = new_test_user(
            cls.env,
            login="cs_daemon",
            groups="channel_sync.group_channel_daemon",
        )
        cls.employee = new_test_user(
            cls.env, login="cs_employee", groups="base.group_user"
        )
        Channel = cls.env["channel.channel"]
        cls.channel_amz = Channel.create(
            {"name": "Amazon Test", "code": "test-amz", "kind": "amazon"}
        )
        cls.channel_ebay = Channel.create(
            {"name": "eBay Test", "code": "test_ebay", "kind": "ebay"}
        )
        Product = cls.env["product.product"]
        cls.product_mug = Product.create(
            {
                "name": "Test Mug",
                "default_code": "TEST-MUG",
                "type": "consu",
                "list_price": 12.0,
            }
        )
        cls.product_cap = Product.create(
            {
                "name": "Test Cap",
                "default_code": "TEST-CAP",
                "type": "consu",
                "list_price": 20.0,
            }
        )
        cls.partner = cls.env["res.partner"].create({"name": "Test Buyer"})

    @classmethod
    def _binding(cls, channel, product, sku, **vals):
        return cls.env["channel.product.binding"].create(
            {
                "channel_id": channel.id,
                "product_id": product.id,
                "external_sku": sku,
                **vals,
            }
        )
