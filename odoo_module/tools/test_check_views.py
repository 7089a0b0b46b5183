#!/usr/bin/env python3
"""The static checker must be able to fail: each test breaks a copy of the
addon in one way and expects check_views to name the problem."""

import contextlib
import io
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_views  # noqa: E402

ADDON = HERE.parent / "channel_sync"


class CheckViewsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="check_views_"))
        self.addon = self.tmp / "channel_sync"
        shutil.copytree(ADDON, self.addon, ignore=shutil.ignore_patterns("__pycache__"))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_checker(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = check_views.main(["--addon", str(self.addon)])
        return status, out.getvalue()

    def edit(self, rel, old, new, count=1):
        path = self.addon / rel
        text = path.read_text(encoding="utf-8")
        self.assertIn(old, text, f"fixture text not found in {rel}")
        path.write_text(text.replace(old, new, count), encoding="utf-8")

    def assertProblem(self, pattern):
        status, output = self.run_checker()
        self.assertEqual(status, 1, output)
        self.assertRegex(output, pattern)

    def test_clean_addon_passes(self):
        status, output = self.run_checker()
        self.assertEqual(status, 0, output)

    def test_unknown_field_in_view(self):
        self.edit(
            "views/channel_channel_views.xml",
            '<field name="buffer_units" />',
            '<field name="buffer_unit" />',
        )
        self.assertProblem(r"field 'buffer_unit' does not exist on channel\.channel")

    def test_unknown_field_on_standard_model(self):
        self.edit(
            "views/sale_order_views.xml",
            '<field name="amount_total" type="measure" />',
            '<field name="amount_totl" type="measure" />',
        )
        self.assertProblem(r"field 'amount_totl' does not exist on sale\.order")

    def test_unknown_field_in_subview(self):
        self.edit(
            "views/channel_product_binding_views.xml",
            '<field name="value" />',
            '<field name="values" />',
        )
        self.assertProblem(r"field 'values' does not exist on channel\.binding\.specific")

    def test_unknown_field_in_modifier(self):
        self.edit(
            "views/channel_quarantine_views.xml",
            'invisible="not released_by"',
            'invisible="not releaser"',
        )
        self.assertProblem(r"field 'releaser' .*does not exist on channel\.quarantine")

    def test_unknown_field_in_domain(self):
        self.edit(
            "views/channel_sync_run_views.xml",
            "[('count_failed', '&gt;', 0)]",
            "[('count_fail', '&gt;', 0)]",
        )
        self.assertProblem(r"field 'count_fail' .*does not exist on channel\.sync\.run")

    def test_unknown_button_method(self):
        self.edit(
            "views/channel_quarantine_views.xml",
            'name="action_hold"',
            'name="action_unhold"',
        )
        self.assertProblem(r"action_unhold is not a method of channel\.quarantine")

    def test_uncaptured_standard_model(self):
        self.edit(
            "views/stock_picking_views.xml",
            '<field name="model">stock.picking</field>',
            '<field name="model">stock.pickings</field>',
        )
        self.assertProblem(r"model 'stock\.pickings' is neither defined by the addon nor captured")

    def test_acl_unknown_model_and_group(self):
        self.edit(
            "security/ir.model.access.csv",
            "model_channel_sync_run,group_channel_user",
            "model_channel_sync_runs,group_channel_users",
        )
        status, output = self.run_checker()
        self.assertEqual(status, 1)
        self.assertRegex(output, r"model 'model_channel_sync_runs' does not exist")
        self.assertRegex(output, r"ref 'group_channel_users' is not defined")

    def test_model_without_acl(self):
        path = self.addon / "security/ir.model.access.csv"
        lines = [
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if "model_channel_binding_specific" not in line
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.assertProblem(r"model channel\.binding\.specific has no access rule")

    def test_menu_with_unknown_action(self):
        self.edit(
            "views/channel_sync_menus.xml",
            'action="channel_quarantine_action"',
            'action="channel_quarantaine_action"',
        )
        self.assertProblem(r"ref 'channel_quarantaine_action' is not defined")

    def test_ref_used_before_definition(self):
        manifest = self.addon / "__manifest__.py"
        text = manifest.read_text(encoding="utf-8")
        text = text.replace(
            '        "views/channel_sync_menus.xml",\n', ""
        ).replace(
            '        "views/channel_channel_views.xml",\n',
            '        "views/channel_sync_menus.xml",\n        "views/channel_channel_views.xml",\n',
        )
        manifest.write_text(text, encoding="utf-8")
        self.assertProblem(r"ref 'channel_channel_action' is not defined before it is used")

    def test_unchecked_external_ref(self):
        self.edit(
            "views/sale_order_views.xml",
            'ref="sale.view_order_form"',
            'ref="sale.view_order_form_nope"',
        )
        self.assertProblem(r"external ref 'sale\.view_order_form_nope' is not in the checked list")

    def test_duplicate_label(self):
        self.edit(
            "models/channel_sync_run.py",
            'count_failed = fields.Integer(string="Failed")',
            'count_failed = fields.Integer(string="Written")',
        )
        self.assertProblem(r"fields count_written and count_failed have the same label 'written'")

    def test_label_clash_with_standard_field(self):
        self.edit(
            "models/sale_order.py",
            'string="Deliver By (Channel)"',
            'string="Delivery Date"',
        )
        self.assertProblem(r"fields commitment_date and channel_deliver_by have the same label")

    def test_sql_constraints_refused(self):
        self.edit(
            "models/channel_sync_run.py",
            "    _counts_positive = models.Constraint(",
            '    _sql_constraints = [("x", "CHECK(1=1)", "x")]\n'
            "    _counts_positive = models.Constraint(",
        )
        self.assertProblem(r"_sql_constraints is ignored by Odoo 19")

    def test_broken_related_path(self):
        self.edit(
            "models/stock_picking.py",
            'related="sale_id.channel_ship_by"',
            'related="sale_id.channel_shipby"',
        )
        self.assertProblem(r"related='sale_id\.channel_shipby': no field 'channel_shipby'")

    def test_search_default_without_filter(self):
        self.edit(
            "views/channel_quarantine_views.xml",
            "{'search_default_held': 1}",
            "{'search_default_on_hold': 1}",
        )
        self.assertProblem(r"search_default_on_hold: no filter or field 'on_hold'")

    def test_tree_view_refused(self):
        self.edit(
            "views/channel_sync_run_views.xml",
            "<field name=\"view_mode\">list,graph,pivot,form</field>",
            "<field name=\"view_mode\">tree,graph,pivot,form</field>",
        )
        self.assertProblem(r"view_mode 'tree' is 'list' since Odoo 17")

    def test_attrs_refused(self):
        self.edit(
            "views/channel_channel_views.xml",
            'invisible="active"',
            "attrs=\"{'invisible': [('active', '=', True)]}\"",
        )
        self.assertProblem(r"attrs= is gone since Odoo 17")

    def test_malformed_xml(self):
        self.edit("views/channel_channel_views.xml", "</odoo>", "</odo>")
        self.assertProblem(r"XML not well formed")

    def test_unlisted_data_file(self):
        (self.addon / "views/forgotten_views.xml").write_text(
            '<?xml version="1.0"?>\n<odoo/>\n', encoding="utf-8"
        )
        self.assertProblem(r"views/forgotten_views\.xml is not listed")

    def test_cron_method(self):
        self.edit("data/ir_cron.xml", "model._cron_prune_runs()", "model._cron_prune()")
        self.assertProblem(r"cron calls channel\.sync\.run\._cron_prune\(\) which does not exist")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
