# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .common import GROUP_DAEMON, GROUP_MANAGER

QUARANTINE_KINDS = [
    ("order", "Order"),
    ("stock", "Stock"),
    ("price", "Price"),
    ("listing", "Listing"),
    ("shipment", "Shipment"),
    ("return", "Return"),
    ("settlement", "Settlement"),
    ("webhook", "Webhook"),
]

QUARANTINE_STATES = [
    ("held", "Held"),
    ("released", "Released"),
    ("discarded", "Discarded"),
]

# Context key set by the decision methods: ``state`` is only ever changed
# through them, so that who decided and when is always recorded.
DECISION_CONTEXT_KEY = "channel_sync_quarantine_decision"


class ChannelQuarantine(models.Model):
    """A record the daemon could not process, held until a person decides.

    The daemon creates it (``held``) with the reason and the raw payload.
    A channel manager (or the daemon itself) then *releases* it (the daemon
    processes it again on its next cycle, e.g. after the merchant mapped a
    missing SKU) or *discards* it (the daemon drops it for good).  The
    daemon reads ``state`` on its next cycle, acts, and calls
    ``mark_resolved`` so that the decision is never applied twice."""

    _name = "channel.quarantine"
    _description = "Channel Quarantine"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "create_date desc, id desc"
    _rec_names_search = ["external_ref", "daemon_ref", "reason"]

    channel_id = fields.Many2one(
        comodel_name="channel.channel",
        required=True,
        index=True,
        ondelete="restrict",
    )
    company_id = fields.Many2one(
        related="channel_id.company_id", store=True, index=True, precompute=True
    )
    kind = fields.Selection(
        QUARANTINE_KINDS, string="Record Type", required=True, index=True
    )
    external_ref = fields.Char(
        string="External Reference",
        index=True,
        help="The marketplace's id of the record (order id, SKU, "
        "settlement id, webhook event id...).",
    )
    daemon_ref = fields.Char(
        string="Daemon Reference",
        copy=False,
        help="The daemon's own id for this quarantined record; unique per "
        "channel, so that mirroring it into Odoo twice is harmless.",
    )
    reason = fields.Text(required=True)
    payload = fields.Text(help="The raw payload as received, for replay.")
    state = fields.Selection(
        QUARANTINE_STATES,
        string="Status",
        required=True,
        default="held",
        index=True,
        copy=False,
        tracking=True,
    )
    res_model = fields.Char(
        string="Related Model",
        index=True,
        help="Technical name of the Odoo model the record concerns, if any "
        "(e.g. sale.order, product.product).",
    )
    res_id = fields.Many2oneReference(
        string="Related Record ID", model_field="res_model", index=True
    )
    record_ref = fields.Reference(
        selection="_selection_target_model",
        string="Related Record",
        compute="_compute_record_ref",
    )
    released_by = fields.Many2one(
        comodel_name="res.users", readonly=True, copy=False
    )
    released_at = fields.Datetime(string="Released On", readonly=True, copy=False)
    discarded_by = fields.Many2one(
        comodel_name="res.users", readonly=True, copy=False
    )
    discarded_at = fields.Datetime(string="Discarded On", readonly=True, copy=False)
    resolved = fields.Boolean(
        string="Resolved by Daemon",
        copy=False,
        tracking=True,
        help="Set by the daemon once it has acted on the decision "
        "(processed a released record or dropped a discarded one).",
    )
    resolved_at = fields.Datetime(string="Resolved On", copy=False)
    resolution_note = fields.Text(copy=False)

    _channel_daemon_ref_uniq = models.Constraint(
        "UNIQUE(channel_id, daemon_ref)",
        "This daemon reference is already quarantined on this channel.",
    )

    @api.model
    def _selection_target_model(self):
        return [
            (model.model, model.name)
            for model in self.env["ir.model"].sudo().search([])
        ]

    @api.depends("res_model", "res_id")
    def _compute_record_ref(self):
        for quarantine in self:
            ref = False
            if (
                quarantine.res_model
                and quarantine.res_model in self.env
                and quarantine.res_id
            ):
                record = (
                    self.env[quarantine.res_model].browse(quarantine.res_id).exists()
                )
                if record:
                    ref = f"{record._name},{record.id}"
            quarantine.record_ref = ref

    @api.depends("channel_id.code", "kind", "external_ref")
    def _compute_display_name(self):
        kinds = dict(QUARANTINE_KINDS)
        for quarantine in self:
            parts = [
                quarantine.channel_id.code,
                kinds.get(quarantine.kind, quarantine.kind),
                quarantine.external_ref or (quarantine.id and f"#{quarantine.id}"),
            ]
            quarantine.display_name = " / ".join(part for part in parts if part)

    @api.constrains("res_model")
    def _check_res_model(self):
        for quarantine in self:
            if quarantine.res_model and quarantine.res_model not in self.env:
                raise ValidationError(
                    self.env._(
                        "Quarantine %(record)s refers to the unknown model "
                        "%(model)r.",
                        record=quarantine.display_name,
                        model=quarantine.res_model,
                    )
                )

    def write(self, vals):
        if (
            "state" in vals
            and not self.env.su
            and not self.env.context.get(DECISION_CONTEXT_KEY)
            and any(quarantine.state != vals["state"] for quarantine in self)
        ):
            raise UserError(
                self.env._(
                    "The status of a quarantined record changes only through "
                    "Release, Discard or Hold again (action_release, "
                    "action_discard, action_hold), which record who decided."
                )
            )
        return super().write(vals)

    # ------------------------------------------------------------------
    # Decisions (buttons, and RPC methods for the daemon)
    # ------------------------------------------------------------------
    def _check_decision_rights(self):
        """Managers and the daemon's technical user may decide; plain
        channel users may only look."""
        if not self.env.su:
            user = self.env.user
            if not (user.has_group(GROUP_MANAGER) or user.has_group(GROUP_DAEMON)):
                raise AccessError(
                    self.env._(
                        "Only channel managers and the channel daemon can "
                        "release, discard or hold quarantined records."
                    )
                )
        self.check_access("write")

    def _set_decision(self, new_state):
        self._check_decision_rights()
        now = fields.Datetime.now()
        uid = self.env.uid
        for quarantine in self:
            if quarantine.state == new_state:
                continue  # idempotent: asking twice changes nothing
            if quarantine.resolved and new_state != "held":
                raise UserError(
                    self.env._(
                        "Quarantine %(record)s was already %(state)s and handled "
                        "by the daemon; put it on hold again before taking "
                        "another decision.",
                        record=quarantine.display_name,
                        state=dict(QUARANTINE_STATES)[quarantine.state].lower(),
                    )
                )
            vals = {"state": new_state}
            if new_state == "released":
                vals.update(released_by=uid, released_at=now)
            elif new_state == "discarded":
                vals.update(discarded_by=uid, discarded_at=now)
            else:
                vals.update(resolved=False, resolved_at=False)
            quarantine.with_context(**{DECISION_CONTEXT_KEY: True}).write(vals)
        return True

    def action_release(self):
        """Process the record again on the daemon's next cycle."""
        return self._set_decision("released")

    def action_discard(self):
        """Drop the record for good on the daemon's next cycle."""
        return self._set_decision("discarded")

    def action_hold(self):
        """Hold the record again (e.g. the daemon retried a released record
        and it failed again)."""
        return self._set_decision("held")

    def mark_resolved(self, note=False):
        """Called by the daemon once it has applied the decision."""
        self._check_decision_rights()
        held = self.filtered(lambda quarantine: quarantine.state == "held")
        if held:
            raise UserError(
                self.env._(
                    "Quarantine %(records)s is still held: there is no "
                    "decision to resolve.",
                    records=", ".join(held.mapped("display_name")),
                )
            )
        todo = self.filtered(lambda quarantine: not quarantine.resolved)
        if todo:
            todo.write(
                {
                    "resolved": True,
                    "resolved_at": fields.Datetime.now(),
                    "resolution_note": note or False,
                }
            )
        return True
