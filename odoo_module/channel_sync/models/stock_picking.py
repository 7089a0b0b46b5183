# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    channel_id = fields.Many2one(
        related="sale_id.channel_id",
        string="Sales Channel",
        store=True,
        index=True,
    )
    channel_ship_by = fields.Datetime(
        related="sale_id.channel_ship_by",
        string="Ship By (Channel)",
        store=True,
    )
