# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

SYNC_JOBS = [
    ("stock", "Stock"),
    ("orders", "Orders"),
    ("prices", "Prices"),
    ("listings", "Listings"),
    ("shipments", "Shipments"),
    ("cancellations", "Cancellations"),
    ("returns", "Returns"),
    ("settlements", "Settlements"),
    ("reconcile", "Reconciliation"),
]

RUN_STATES = [
    ("running", "Running"),
    ("done", "Done"),
    ("partial", "Partially Done"),
    ("failed", "Failed"),
]

RETENTION_PARAM = "channel_sync.run_retention_days"
RETENTION_DEFAULT = 90
# Rows deleted per cron batch, so one run never holds a huge transaction.
PRUNE_BATCH = 5000


class ChannelSyncRun(models.Model):
    """One execution of one daemon job on one channel.

    The daemon creates the row when the job starts (state ``running``) and
    writes the counters and the final state when it ends.  Old rows are
    pruned by a cron after ``channel_sync.run_retention_days`` days."""

    _name = "channel.sync.run"
    _description = "Channel Sync Run"
    _order = "started_at desc, id desc"

    channel_id = fields.Many2one(
        comodel_name="channel.channel",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="channel_id.company_id", store=True, index=True, precompute=True
    )
    job = fields.Selection(SYNC_JOBS, required=True, index=True)
    started_at = fields.Datetime(
        required=True, default=fields.Datetime.now, index=True
    )
    finished_at = fields.Datetime()
    duration = fields.Float(
        string="Duration (s)",
        compute="_compute_duration",
        store=True,
        aggregator="avg",
        help="Wall-clock seconds between start and end of the run.",
    )
    count_read = fields.Integer(string="Read")
    count_written = fields.Integer(string="Written")
    count_failed = fields.Integer(string="Failed")
    state = fields.Selection(RUN_STATES, required=True, default="running", index=True)
    error_summary = fields.Text()

    _counts_positive = models.Constraint(
        "CHECK(count_read >= 0 AND count_written >= 0 AND count_failed >= 0)",
        "Sync run counters cannot be negative.",
    )

    @api.depends("started_at", "finished_at")
    def _compute_duration(self):
        for run in self:
            if run.started_at and run.finished_at:
                run.duration = max(
                    (run.finished_at - run.started_at).total_seconds(), 0.0
                )
            else:
                run.duration = 0.0

    @api.depends("channel_id.code", "job", "started_at")
    def _compute_display_name(self):
        for run in self:
            job = dict(SYNC_JOBS).get(run.job, run.job or "")
            started = (
                fields.Datetime.to_string(run.started_at) if run.started_at else ""
            )
            run.display_name = " / ".join(
                part for part in (run.channel_id.code, job, started) if part
            )

    @api.model
    def _get_retention_days(self):
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(RETENTION_PARAM, str(RETENTION_DEFAULT))
        )
        try:
            return int(value)
        except (TypeError, ValueError):
            _logger.warning(
                "Invalid %s=%r, using %s days", RETENTION_PARAM, value, RETENTION_DEFAULT
            )
            return RETENTION_DEFAULT

    @api.model
    def _cron_prune_runs(self, batch_size=PRUNE_BATCH):
        """Delete finished runs older than the retention period.

        A retention of 0 (or less) keeps everything.  Runs still marked
        ``running`` are kept whatever their age: they show a job that
        never reported its end, which is worth seeing.  Returns the number
        of deleted runs."""
        days = self._get_retention_days()
        if days <= 0:
            return 0
        limit_date = fields.Datetime.now() - timedelta(days=days)
        domain = [("started_at", "<", limit_date), ("state", "!=", "running")]
        deleted = 0
        while True:
            runs = self.search(domain, limit=batch_size)
            if not runs:
                break
            deleted += len(runs)
            runs.unlink()
            if len(runs) < batch_size:
                break
        if deleted:
            _logger.info(
                "Pruned %s channel sync runs older than %s days", deleted, days
            )
        return deleted
