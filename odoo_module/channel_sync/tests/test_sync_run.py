# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import ChannelSyncCase


@tagged("post_install", "-at_install")
class TestSyncRun(ChannelSyncCase):
    def _run(self, days_ago=0, state="done", **vals):
        started = fields.Datetime.now() - timedelta(days=days_ago)
        return self.env["channel.sync.run"].create(
            {
                "channel_id": self.channel_amz.id,
                "job": "stock",
                "started_at": started,
                "finished_at": started + timedelta(seconds=90) if state != "running" else False,
                "state": state,
                **vals,
            }
        )

    def test_duration(self):
        run = self._run()
        self.assertEqual(run.duration, 90.0)
        running = self._run(state="running")
        self.assertEqual(running.duration, 0.0)

    def test_newest_first(self):
        old = self._run(days_ago=2)
        new = self._run(days_ago=1)
        runs = self.env["channel.sync.run"].search([("id", "in", (old | new).ids)])
        self.assertEqual(runs.ids, [new.id, old.id])

    def test_counters_not_negative(self):
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self._run(count_failed=-1)

    def test_prune_old_runs(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "channel_sync.run_retention_days", "30"
        )
        old_done = self._run(days_ago=40)
        old_failed = self._run(days_ago=40, state="failed")
        old_running = self._run(days_ago=40, state="running")
        recent = self._run(days_ago=5)
        deleted = self.env["channel.sync.run"]._cron_prune_runs(batch_size=1)
        self.assertGreaterEqual(deleted, 2)
        self.assertFalse((old_done | old_failed).exists())
        self.assertEqual((old_running | recent).exists(), old_running | recent)

    def test_prune_disabled_with_zero(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "channel_sync.run_retention_days", "0"
        )
        old = self._run(days_ago=4000)
        self.assertEqual(self.env["channel.sync.run"]._cron_prune_runs(), 0)
        self.assertTrue(old.exists())

    def test_prune_survives_bad_parameter(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "channel_sync.run_retention_days", "ninety"
        )
        old = self._run(days_ago=4000)
        with mute_logger("odoo.addons.channel_sync.models.channel_sync_run"):
            self.env["channel.sync.run"]._cron_prune_runs()
        self.assertFalse(old.exists(), "falls back to the default retention")

    def test_cron_exists(self):
        cron = self.env.ref("channel_sync.ir_cron_prune_sync_runs")
        self.assertEqual(cron.model_id.model, "channel.sync.run")
        self.assertIn("_cron_prune_runs", cron.code)
