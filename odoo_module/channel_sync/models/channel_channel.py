# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .common import check_daemon_write

CODE_RE = re.compile(r"^[a-z0-9_-]+$")

CHANNEL_KINDS = [
    ("sandbox", "Sandbox"),
    ("shopify", "Shopify"),
    ("amazon", "Amazon"),
    ("ebay", "eBay"),
    ("walmart", "Walmart"),
    ("tiktok", "TikTok Shop"),
    ("etsy", "Etsy"),
    ("other", "Other"),
]

SYNC_STATES = [
    ("ok", "OK"),
    ("warning", "Warning"),
    ("error", "Error"),
]

HEALTH_STATES = [
    ("never", "Never synced"),
    ("ok", "Healthy"),
    ("warning", "Needs attention"),
    ("error", "Failing"),
]

# Kanban colour index per health state (Odoo colour palette).
HEALTH_COLORS = {"never": 0, "ok": 10, "warning": 2, "error": 1}

# What the daemon writes on a channel; everything else is merchant policy.
DAEMON_FIELDS = (
    "last_stock_sync",
    "last_order_sync",
    "last_price_sync",
    "last_sync_state",
    "last_sync_message",
)

STALE_PARAM = "channel_sync.stale_after_minutes"
STALE_DEFAULT = 60


class ChannelChannel(models.Model):
    _name = "channel.channel"
    _description = "Sales Channel"
    _inherit = ["mail.thread"]
    _order = "priority desc, name, id"
    _rec_names_search = ["name", "code"]
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    code = fields.Char(
        required=True,
        tracking=True,
        copy=False,
        index=True,
        help="The channel id used in the daemon's configuration file "
        "(lowercase letters, digits, '_' and '-' only). The daemon finds "
        "this channel by its code.",
    )
    kind = fields.Selection(
        CHANNEL_KINDS,
        string="Marketplace",
        required=True,
        default="other",
        tracking=True,
    )
    active = fields.Boolean(default=True, tracking=True)
    priority = fields.Integer(
        default=10,
        tracking=True,
        help="Allocation priority when stock is scarce: a higher value is "
        "served first, channels with a lower value are cut first.",
    )
    buffer_percent = fields.Float(
        string="Safety Buffer (%)",
        digits=(5, 2),
        tracking=True,
        help="Percentage of the available-to-sell quantity kept back "
        "before pushing stock to this channel.",
    )
    buffer_units = fields.Float(
        string="Safety Buffer (units)",
        digits="Product Unit",
        tracking=True,
        help="Units kept back (after the percentage) before pushing stock "
        "to this channel.",
    )
    warehouse_ids = fields.Many2many(
        comodel_name="stock.warehouse",
        relation="channel_channel_stock_warehouse_rel",
        column1="channel_id",
        column2="warehouse_id",
        string="Warehouses",
        check_company=True,
        help="Warehouses whose stock is offered on this channel. Empty "
        "means every warehouse of the company.",
    )
    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    currency_id = fields.Many2one(
        comodel_name="res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
        tracking=True,
    )
    pricelist_id = fields.Many2one(
        comodel_name="product.pricelist",
        check_company=True,
        tracking=True,
        help="Pricelist used to compute the prices pushed to this channel "
        "when a binding has no price of its own.",
    )
    last_stock_sync = fields.Datetime(readonly=True, copy=False)
    last_order_sync = fields.Datetime(readonly=True, copy=False)
    last_price_sync = fields.Datetime(readonly=True, copy=False)
    last_sync_state = fields.Selection(
        SYNC_STATES, string="Last Sync Result", readonly=True, copy=False
    )
    last_sync_message = fields.Text(readonly=True, copy=False)

    binding_ids = fields.One2many(
        comodel_name="channel.product.binding",
        inverse_name="channel_id",
        string="Product Bindings",
    )
    binding_count = fields.Integer(compute="_compute_counts")
    quarantine_open_count = fields.Integer(
        string="Held in Quarantine", compute="_compute_counts"
    )
    order_count = fields.Integer(compute="_compute_counts")
    run_count = fields.Integer(string="Sync Run Count", compute="_compute_counts")
    last_sync_at = fields.Datetime(
        string="Last Sync",
        compute="_compute_health",
        help="Most recent of the stock, order and price synchronisations.",
    )
    health = fields.Selection(
        HEALTH_STATES,
        compute="_compute_health",
        help="Failing: the last sync failed. Needs attention: the last sync "
        "warned, records are held in quarantine, or nothing was synced for "
        "longer than the configured delay. Healthy otherwise.",
    )
    color = fields.Integer(string="Health Color", compute="_compute_health")

    _code_uniq = models.Constraint(
        "UNIQUE(code)",
        "A channel with this code already exists: the code is the daemon's "
        "channel id and must be unique.",
    )
    _buffer_percent_range = models.Constraint(
        "CHECK(buffer_percent >= 0 AND buffer_percent <= 100)",
        "The safety buffer percentage must be between 0 and 100.",
    )
    _buffer_units_positive = models.Constraint(
        "CHECK(buffer_units >= 0)",
        "The safety buffer in units cannot be negative.",
    )

    @api.constrains("code")
    def _check_code(self):
        for channel in self:
            if not channel.code or not CODE_RE.match(channel.code):
                raise ValidationError(
                    self.env._(
                        "Invalid channel code %(code)r on channel %(name)s: use "
                        "lowercase letters, digits, '_' and '-' only "
                        "(e.g. 'amazon-us').",
                        code=channel.code or "",
                        name=channel.name,
                    )
                )

    def _compute_counts(self):
        channels = self.filtered("id")
        bindings = dict.fromkeys(self.ids, 0)
        held = dict.fromkeys(self.ids, 0)
        orders = dict.fromkeys(self.ids, 0)
        runs = dict.fromkeys(self.ids, 0)
        if channels:
            domain = [("channel_id", "in", channels.ids)]
            for model, counts, extra in (
                ("channel.product.binding", bindings, []),
                ("channel.quarantine", held, [("state", "=", "held")]),
                ("sale.order", orders, []),
                ("channel.sync.run", runs, []),
            ):
                comodel = self.env[model]
                if not comodel.has_access("read"):
                    continue
                for channel, count in comodel._read_group(
                    domain + extra, groupby=["channel_id"], aggregates=["__count"]
                ):
                    counts[channel.id] = count
        for channel in self:
            channel.binding_count = bindings.get(channel.id, 0)
            channel.quarantine_open_count = held.get(channel.id, 0)
            channel.order_count = orders.get(channel.id, 0)
            channel.run_count = runs.get(channel.id, 0)

    @api.depends(
        "last_stock_sync",
        "last_order_sync",
        "last_price_sync",
        "last_sync_state",
    )
    def _compute_health(self):
        stale_minutes = self._get_stale_after_minutes()
        now = fields.Datetime.now()
        held = dict.fromkeys(self.ids, 0)
        channels = self.filtered("id")
        if channels and self.env["channel.quarantine"].has_access("read"):
            for channel, count in self.env["channel.quarantine"]._read_group(
                [("channel_id", "in", channels.ids), ("state", "=", "held")],
                groupby=["channel_id"],
                aggregates=["__count"],
            ):
                held[channel.id] = count
        for channel in self:
            syncs = [
                date
                for date in (
                    channel.last_stock_sync,
                    channel.last_order_sync,
                    channel.last_price_sync,
                )
                if date
            ]
            last = max(syncs) if syncs else False
            channel.last_sync_at = last
            if channel.last_sync_state == "error":
                health = "error"
            elif not last and not channel.last_sync_state:
                health = "never"
            elif (
                channel.last_sync_state == "warning"
                or held.get(channel.id, 0)
                or not last
                or (
                    stale_minutes
                    and last < now - timedelta(minutes=stale_minutes)
                )
            ):
                health = "warning"
            else:
                health = "ok"
            channel.health = health
            channel.color = HEALTH_COLORS[health]

    @api.model
    def _get_stale_after_minutes(self):
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(STALE_PARAM, str(STALE_DEFAULT))
        )
        try:
            return max(int(value), 0)
        except (TypeError, ValueError):
            return STALE_DEFAULT

    def write(self, vals):
        check_daemon_write(self, vals, DAEMON_FIELDS)
        return super().write(vals)

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        default = default or {}
        for channel, vals in zip(self, vals_list, strict=True):
            if "name" not in default:
                vals["name"] = self.env._("%s (copy)", channel.name)
            if "code" not in default:
                vals["code"] = f"{channel.code}-copy"
        return vals_list

    # ------------------------------------------------------------------
    # Smart buttons
    # ------------------------------------------------------------------
    def _action_open(self, xmlid, extra_domain=None, extra_context=None):
        self.ensure_one()
        action = self.env["ir.actions.actions"]._for_xml_id(xmlid)
        action["domain"] = [("channel_id", "=", self.id)] + (extra_domain or [])
        action["context"] = {
            "default_channel_id": self.id,
            **(extra_context or {}),
        }
        return action

    def action_view_bindings(self):
        return self._action_open("channel_sync.channel_product_binding_action")

    def action_view_quarantine(self):
        return self._action_open(
            "channel_sync.channel_quarantine_action",
            extra_context={"search_default_held": 1},
        )

    def action_view_orders(self):
        return self._action_open("channel_sync.sale_order_action_by_channel")

    def action_view_runs(self):
        return self._action_open("channel_sync.channel_sync_run_action")
