# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .common import check_daemon_write

ASIN_RE = re.compile(r"^[A-Z0-9]{10}$")

LISTING_STATES = [
    ("draft", "Draft"),
    ("active", "Active"),
    ("inactive", "Inactive"),
    ("error", "Error"),
]

# The values are eBay's own ConditionEnum names (Sell Inventory API), so
# the daemon sends them as they are.
EBAY_CONDITIONS = [
    ("NEW", "New"),
    ("LIKE_NEW", "Like New"),
    ("NEW_OTHER", "New (other)"),
    ("NEW_WITH_DEFECTS", "New with defects"),
    ("CERTIFIED_REFURBISHED", "Certified - Refurbished"),
    ("EXCELLENT_REFURBISHED", "Excellent - Refurbished"),
    ("VERY_GOOD_REFURBISHED", "Very Good - Refurbished"),
    ("GOOD_REFURBISHED", "Good - Refurbished"),
    ("SELLER_REFURBISHED", "Seller Refurbished"),
    ("USED_EXCELLENT", "Used - Excellent"),
    ("USED_VERY_GOOD", "Used - Very Good"),
    ("USED_GOOD", "Used - Good"),
    ("USED_ACCEPTABLE", "Used - Acceptable"),
    ("FOR_PARTS_OR_NOT_WORKING", "For parts or not working"),
]

# What the daemon writes on a binding: the marketplace's answer to a push.
# Prices, channel content and the product mapping are merchant data.
DAEMON_FIELDS = (
    "listing_ref",
    "listing_state",
    "amazon_asin",
    "last_pushed_qty",
    "last_pushed_price",
    "last_pushed_at",
    "last_error",
)


class ChannelProductBinding(models.Model):
    _name = "channel.product.binding"
    _description = "Channel Product Binding"
    _inherit = ["mail.thread"]
    _order = "channel_id, external_sku, id"
    _rec_names_search = ["external_sku", "listing_ref", "product_id"]
    _check_company_auto = True

    channel_id = fields.Many2one(
        comodel_name="channel.channel",
        required=True,
        index=True,
        ondelete="cascade",
        tracking=True,
    )
    channel_kind = fields.Selection(related="channel_id.kind")
    company_id = fields.Many2one(
        related="channel_id.company_id", store=True, index=True, precompute=True
    )
    product_id = fields.Many2one(
        comodel_name="product.product",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
        tracking=True,
    )
    product_tmpl_id = fields.Many2one(
        related="product_id.product_tmpl_id",
        store=True,
        index=True,
        precompute=True,
    )
    external_sku = fields.Char(
        string="External SKU",
        required=True,
        copy=False,
        tracking=True,
        help="The SKU of this product on the channel (seller SKU on Amazon, "
        "custom label on eBay, variant SKU on Shopify...).",
    )
    listing_ref = fields.Char(
        string="Listing Reference",
        copy=False,
        index=True,
        help="The marketplace's id of the listing: ASIN, eBay item id, "
        "Shopify variant id, Walmart item id, TikTok SKU id...",
    )
    listing_state = fields.Selection(
        LISTING_STATES, required=True, default="draft", copy=False, tracking=True
    )
    currency_id = fields.Many2one(
        comodel_name="res.currency",
        compute="_compute_currency_id",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
    )
    price = fields.Monetary(
        currency_field="currency_id",
        tracking=True,
        help="Price on this channel. Leave empty to use the channel's "
        "pricelist (or the product's sales price).",
    )
    pricelist_id = fields.Many2one(
        comodel_name="product.pricelist",
        check_company=True,
        help="Pricelist for this product on this channel; overrides the "
        "channel's pricelist when no explicit price is set.",
    )

    # Amazon
    amazon_asin = fields.Char(string="ASIN", copy=False)
    amazon_bullet_1 = fields.Char(string="Bullet Point 1")
    amazon_bullet_2 = fields.Char(string="Bullet Point 2")
    amazon_bullet_3 = fields.Char(string="Bullet Point 3")
    amazon_bullet_4 = fields.Char(string="Bullet Point 4")
    amazon_bullet_5 = fields.Char(string="Bullet Point 5")
    amazon_aplus_ref = fields.Char(
        string="A+ Content Reference",
        help="Reference of the A+ (enhanced brand) content document.",
    )
    # eBay
    ebay_condition = fields.Selection(EBAY_CONDITIONS, string="eBay Condition")
    ebay_condition_description = fields.Text(string="eBay Condition Description")
    ebay_specific_ids = fields.One2many(
        comodel_name="channel.binding.specific",
        inverse_name="binding_id",
        string="eBay Item Specifics",
        copy=True,
    )
    # Shopify
    shopify_seo_title = fields.Char(string="SEO Title")
    shopify_seo_description = fields.Text(string="SEO Description")
    shopify_metafields_json = fields.Text(
        string="Shopify Metafields (JSON)",
        help='A JSON array of metafields, e.g. [{"namespace": "custom", '
        '"key": "material", "type": "single_line_text_field", '
        '"value": "cotton"}].',
    )
    shopify_collections = fields.Char(
        help="Comma-separated collection handles, e.g. summer-sale,shoes.",
    )
    # Walmart
    walmart_attributes_json = fields.Text(
        string="Walmart Attributes (JSON)",
        help='A JSON object of rich content attributes, e.g. {"brand": '
        '"Acme", "keyFeatures": ["waterproof"]}.',
    )
    # TikTok Shop
    tiktok_video_url = fields.Char(string="TikTok Video URL")
    tiktok_live_shopping = fields.Boolean(
        string="TikTok Live Shopping",
        help="Offer this product in TikTok live-shopping sessions.",
    )

    # Written by the daemon
    last_pushed_qty = fields.Float(
        string="Last Pushed Quantity",
        digits="Product Unit",
        readonly=True,
        copy=False,
    )
    last_pushed_price = fields.Monetary(
        currency_field="currency_id", readonly=True, copy=False
    )
    last_pushed_at = fields.Datetime(readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)

    _channel_sku_uniq = models.Constraint(
        "UNIQUE(channel_id, external_sku)",
        "This SKU is already bound on this channel: a SKU maps to one "
        "product per channel.",
    )
    _channel_product_uniq = models.Constraint(
        "UNIQUE(channel_id, product_id)",
        "This product already has a binding on this channel.",
    )
    _price_positive = models.Constraint(
        "CHECK(price IS NULL OR price >= 0)",
        "A channel price cannot be negative.",
    )

    @api.depends("channel_id")
    def _compute_currency_id(self):
        for binding in self:
            binding.currency_id = (
                binding.channel_id.currency_id
                or binding.currency_id
                or self.env.company.currency_id
            )

    @api.depends("channel_id.code", "external_sku")
    def _compute_display_name(self):
        for binding in self:
            if binding.channel_id and binding.external_sku:
                binding.display_name = (
                    f"[{binding.channel_id.code}] {binding.external_sku}"
                )
            else:
                binding.display_name = binding.external_sku or ""

    @api.onchange("product_id")
    def _onchange_product_id_sku(self):
        for binding in self:
            if binding.product_id and not binding.external_sku:
                binding.external_sku = binding.product_id.default_code

    @api.constrains("external_sku")
    def _check_external_sku(self):
        for binding in self:
            sku = binding.external_sku or ""
            if not sku.strip() or sku != sku.strip():
                raise ValidationError(
                    self.env._(
                        "External SKU %(sku)r of product %(product)s: a SKU "
                        "cannot be blank nor start or end with spaces.",
                        sku=sku,
                        product=binding.product_id.display_name,
                    )
                )

    @api.constrains("amazon_asin")
    def _check_amazon_asin(self):
        for binding in self:
            if binding.amazon_asin and not ASIN_RE.match(binding.amazon_asin):
                raise ValidationError(
                    self.env._(
                        "ASIN %(asin)r on binding %(binding)s: an ASIN is 10 "
                        "uppercase letters or digits (e.g. B07XJ8C8F5).",
                        asin=binding.amazon_asin,
                        binding=binding.display_name,
                    )
                )

    @api.constrains("tiktok_video_url")
    def _check_tiktok_video_url(self):
        for binding in self:
            url = binding.tiktok_video_url
            if url and not url.lower().startswith(("https://", "http://")):
                raise ValidationError(
                    self.env._(
                        "TikTok video URL %(url)r on binding %(binding)s must "
                        "start with https://.",
                        url=url,
                        binding=binding.display_name,
                    )
                )

    def _json_error(self, field_name, message):
        return ValidationError(
            self.env._(
                "%(field)s on binding %(binding)s: %(message)s",
                field=self._fields[field_name].string,
                binding=self.display_name,
                message=message,
            )
        )

    @api.constrains("shopify_metafields_json")
    def _check_shopify_metafields_json(self):
        for binding in self:
            raw = binding.shopify_metafields_json
            if not raw or not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise binding._json_error(
                    "shopify_metafields_json",
                    self.env._("invalid JSON (%(error)s).", error=exc),
                ) from exc
            if not isinstance(data, list):
                raise binding._json_error(
                    "shopify_metafields_json",
                    self.env._("expected a JSON array of metafields."),
                )
            for index, item in enumerate(data):
                missing = (
                    [key for key in ("namespace", "key", "value") if key not in item]
                    if isinstance(item, dict)
                    else ["namespace", "key", "value"]
                )
                if missing:
                    raise binding._json_error(
                        "shopify_metafields_json",
                        self.env._(
                            "metafield #%(index)s must be an object with "
                            "%(missing)s.",
                            index=index + 1,
                            missing=", ".join(missing),
                        ),
                    )

    @api.constrains("walmart_attributes_json")
    def _check_walmart_attributes_json(self):
        for binding in self:
            raw = binding.walmart_attributes_json
            if not raw or not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise binding._json_error(
                    "walmart_attributes_json",
                    self.env._("invalid JSON (%(error)s).", error=exc),
                ) from exc
            if not isinstance(data, dict):
                raise binding._json_error(
                    "walmart_attributes_json",
                    self.env._("expected a JSON object of attributes."),
                )

    def write(self, vals):
        check_daemon_write(self, vals, DAEMON_FIELDS)
        return super().write(vals)
