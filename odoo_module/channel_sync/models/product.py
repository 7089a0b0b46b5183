# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class ProductTemplate(models.Model):
    _inherit = "product.template"

    # Read-only: a binding belongs to a variant; it is created from the
    # variant form or from the Channels > Bindings menu.
    channel_binding_ids = fields.One2many(
        comodel_name="channel.product.binding",
        inverse_name="product_tmpl_id",
        readonly=True,
        groups="channel_sync.group_channel_user",
    )
    channel_binding_count = fields.Integer(
        compute="_compute_channel_binding_count",
        groups="channel_sync.group_channel_user",
    )

    @api.depends("channel_binding_ids")
    def _compute_channel_binding_count(self):
        for template in self:
            template.channel_binding_count = len(template.channel_binding_ids)

    def action_view_channel_bindings(self):
        self.ensure_one()
        action = self.env["ir.actions.actions"]._for_xml_id(
            "channel_sync.channel_product_binding_action"
        )
        action["domain"] = [("product_tmpl_id", "=", self.id)]
        context = {}
        if self.product_variant_count == 1:
            context["default_product_id"] = self.product_variant_id.id
        action["context"] = context
        return action


class ProductProduct(models.Model):
    _inherit = "product.product"

    channel_binding_ids = fields.One2many(
        comodel_name="channel.product.binding",
        inverse_name="product_id",
        groups="channel_sync.group_channel_user",
    )
    channel_binding_count = fields.Integer(
        compute="_compute_channel_binding_count",
        groups="channel_sync.group_channel_user",
    )

    @api.depends("channel_binding_ids")
    def _compute_channel_binding_count(self):
        for product in self:
            product.channel_binding_count = len(product.channel_binding_ids)

    def action_view_channel_bindings(self):
        self.ensure_one()
        action = self.env["ir.actions.actions"]._for_xml_id(
            "channel_sync.channel_product_binding_action"
        )
        action["domain"] = [("product_id", "=", self.id)]
        action["context"] = {"default_product_id": self.id}
        return action
