# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from psycopg2 import IntegrityError

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import ChannelSyncCase


@tagged("post_install", "-at_install")
class TestBinding(ChannelSyncCase):
    def test_duplicate_sku_per_channel(self):
        self._binding(self.channel_amz, self.product_mug, "SKU-1")
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self._binding(self.channel_amz, self.product_cap, "SKU-1")

    def test_duplicate_product_per_channel(self):
        self._binding(self.channel_amz, self.product_mug, "SKU-1")
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self._binding(self.channel_amz, self.product_mug, "SKU-2")

    def test_duplicate_sku_on_write(self):
        self._binding(self.channel_amz, self.product_mug, "SKU-1")
        cap = self._binding(self.channel_amz, self.product_cap, "SKU-2")
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            cap.write({"external_sku": "SKU-1"})

    def test_same_sku_and_product_on_other_channels(self):
        amz = self._binding(self.channel_amz, self.product_mug, "SKU-1")
        ebay = self._binding(self.channel_ebay, self.product_mug, "SKU-1")
        self.assertNotEqual(amz, ebay)
        self.assertEqual(self.product_mug.channel_binding_ids, amz | ebay)
        self.assertEqual(self.product_mug.channel_binding_count, 2)
        template = self.product_mug.product_tmpl_id
        self.assertEqual(amz.product_tmpl_id, template)
        self.assertEqual(template.channel_binding_count, 2)

    def test_blank_or_padded_sku_refused(self):
        for sku in (" ", "SKU-1 ", " SKU-1"):
            with self.subTest(sku=sku), self.assertRaises(ValidationError):
                self._binding(self.channel_amz, self.product_mug, sku)

    def test_defaults_from_channel(self):
        binding = self._binding(self.channel_amz, self.product_mug, "SKU-1")
        self.assertEqual(binding.currency_id, self.channel_amz.currency_id)
        self.assertEqual(binding.company_id, self.channel_amz.company_id)
        self.assertEqual(binding.listing_state, "draft")
        self.assertEqual(binding.display_name, "[test-amz] SKU-1")

    def test_shopify_metafields_json(self):
        binding = self._binding(self.channel_amz, self.product_mug, "SKU-1")
        good = json.dumps(
            [
                {
                    "namespace": "custom",
                    "key": "material",
                    "type": "single_line_text_field",
                    "value": "cotton",
                }
            ]
        )
        binding.shopify_metafields_json = good
        binding.shopify_metafields_json = ""  # empty is allowed
        for bad in (
            "{not json",
            '{"namespace": "custom"}',  # an object, not an array
            '[{"key": "material", "value": "cotton"}]',  # no namespace
            '["cotton"]',
        ):
            with self.subTest(value=bad), self.assertRaises(ValidationError):
                binding.shopify_metafields_json = bad

    def test_walmart_attributes_json(self):
        binding = self._binding(self.channel_ebay, self.product_mug, "SKU-1")
        binding.walmart_attributes_json = '{"brand": "Acme", "keyFeatures": ["dry"]}'
        for bad in ("[1, 2]", '"Acme"', "{brand: Acme}"):
            with self.subTest(value=bad), self.assertRaises(ValidationError):
                binding.walmart_attributes_json = bad

    def test_json_error_names_field_and_binding(self):
        binding = self._binding(self.channel_amz, self.product_mug, "SKU-1")
        with self.assertRaises(ValidationError) as caught:
            binding.walmart_attributes_json = "{oops"
        message = str(caught.exception)
        self.assertIn("Walmart Attributes (JSON)", message)
        self.assertIn("[test-amz] SKU-1", message)

    def test_amazon_asin_format(self):
        binding = self._binding(
            self.channel_amz, self.product_mug, "SKU-1", amazon_asin="B07XJ8C8F5"
        )
        for bad in ("b07xj8c8f5", "B07XJ8C8F", "B07XJ8C8F5X", "B07-J8C8F5"):
            with self.subTest(asin=bad), self.assertRaises(ValidationError):
                binding.amazon_asin = bad

    def test_tiktok_video_url(self):
        binding = self._binding(self.channel_amz, self.product_mug, "SKU-1")
        binding.tiktok_video_url = "https://www.tiktok.com/@shop/video/1"
        with self.assertRaises(ValidationError):
            binding.tiktok_video_url = "javascript:alert(1)"

    def test_ebay_item_specifics(self):
        binding = self._binding(
            self.channel_ebay,
            self.product_mug,
            "SKU-1",
            ebay_condition="NEW",
            ebay_specific_ids=[
                (0, 0, {"name": "Brand", "value": "Acme"}),
                (0, 0, {"name": "Color", "value": "Red|Blue"}),
            ],
        )
        self.assertEqual(len(binding.ebay_specific_ids), 2)
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            binding.write({"ebay_specific_ids": [(0, 0, {"name": "Brand", "value": "X"})]})

    def test_negative_price_refused(self):
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self._binding(self.channel_amz, self.product_mug, "SKU-1", price=-1.0)

    def test_product_actions(self):
        binding = self._binding(self.channel_amz, self.product_mug, "SKU-1")
        action = self.product_mug.action_view_channel_bindings()
        self.assertEqual(action["domain"], [("product_id", "=", self.product_mug.id)])
        self.assertEqual(
            self.env["channel.product.binding"].search(action["domain"]), binding
        )
        template = self.product_mug.product_tmpl_id
        action = template.action_view_channel_bindings()
        self.assertEqual(action["context"]["default_product_id"], self.product_mug.id)
