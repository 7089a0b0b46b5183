# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError

FULFILLED_BY = [
    ("merchant", "Merchant"),
    ("marketplace", "Marketplace"),
]


class SaleOrder(models.Model):
    _inherit = "sale.order"

    channel_id = fields.Many2one(
        comodel_name="channel.channel",
        string="Sales Channel",
        index=True,
        ondelete="restrict",
        copy=False,
        check_company=True,
        tracking=True,
        help="Marketplace or shop the order was imported from by the "
        "channel daemon.",
    )
    channel_order_ref = fields.Char(
        string="Channel Order Reference",
        index=True,
        copy=False,
        help="The order id on the channel. Unique per channel: the daemon "
        "imports each channel order exactly once.",
    )
    channel_ship_by = fields.Datetime(
        string="Ship By (Channel)",
        copy=False,
        help="Latest shipping date promised to the channel (SLA).",
    )
    channel_deliver_by = fields.Datetime(
        string="Deliver By (Channel)",
        copy=False,
        help="Latest delivery date promised to the customer by the channel.",
    )
    channel_fulfilled_by = fields.Selection(
        FULFILLED_BY,
        string="Fulfilled By",
        copy=False,
        help="Merchant: you ship the order. Marketplace: the marketplace "
        "ships it from its own stock (FBA, WFS...).",
    )
    channel_service_level = fields.Char(
        copy=False,
        help="Shipping service level requested on the channel "
        "(e.g. Standard, Expedited, Prime, TwoDay).",
    )

    _channel_order_ref_uniq = models.Constraint(
        "UNIQUE(channel_id, channel_order_ref)",
        "This channel order is already imported: an order reference is "
        "unique per channel.",
    )

    @api.constrains("channel_id", "channel_order_ref")
    def _check_channel_order_ref(self):
        for order in self:
            if order.channel_id and not (order.channel_order_ref or "").strip():
                raise ValidationError(
                    self.env._(
                        "Order %(order)s comes from channel %(channel)s but has "
                        "no channel order reference.",
                        order=order.name,
                        channel=order.channel_id.display_name,
                    )
                )
