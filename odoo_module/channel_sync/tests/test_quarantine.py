# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import ChannelSyncCase


@tagged("post_install", "-at_install")
class TestQuarantine(ChannelSyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.held = cls.env["channel.quarantine"].create(
            {
                "channel_id": cls.channel_amz.id,
                "kind": "order",
                "external_ref": "111-0000000-0000001",
                "daemon_ref": "q-1",
                "reason": "Order 111-0000000-0000001, line 1, field sku: unknown SKU X",
                "payload": '{"AmazonOrderId": "111-0000000-0000001"}',
            }
        )

    def _messages(self, record):
        self.env.cr.flush()  # runs the tracking pre-commit hooks
        record.invalidate_recordset(["message_ids"])
        return len(record.message_ids)

    def test_created_held(self):
        self.assertEqual(self.held.state, "held")
        self.assertFalse(self.held.resolved)
        self.assertEqual(
            self.held.display_name, "test-amz / Order / 111-0000000-0000001"
        )

    def test_release_by_manager(self):
        quarantine = self.held.with_user(self.manager)
        self.assertTrue(quarantine.action_release())
        self.assertEqual(self.held.state, "released")
        self.assertEqual(self.held.released_by, self.manager)
        self.assertTrue(self.held.released_at)

    def test_release_is_idempotent(self):
        quarantine = self.held.with_user(self.manager)
        quarantine.action_release()
        released_at = self.held.released_at
        messages = self._messages(self.held)
        self.assertTrue(quarantine.action_release())
        self.assertEqual(self.held.state, "released")
        self.assertEqual(self.held.released_at, released_at)
        self.assertEqual(self._messages(self.held), messages, "no new message")

    def test_state_change_is_tracked(self):
        before = self._messages(self.held)
        self.held.with_user(self.manager).action_discard()
        self.assertEqual(self._messages(self.held), before + 1)
        tracking = self.held.message_ids[0].tracking_value_ids
        self.assertIn("state", tracking.field_id.mapped("name"))

    def test_discard_then_change_mind_before_daemon(self):
        quarantine = self.held.with_user(self.manager)
        quarantine.action_discard()
        self.assertEqual(self.held.state, "discarded")
        self.assertEqual(self.held.discarded_by, self.manager)
        quarantine.action_release()
        self.assertEqual(self.held.state, "released")

    def test_daemon_can_decide_and_resolve(self):
        quarantine = self.held.with_user(self.daemon)
        quarantine.action_release()
        self.assertEqual(self.held.released_by, self.daemon)
        self.assertTrue(quarantine.mark_resolved(note="order imported as S00042"))
        self.assertTrue(self.held.resolved)
        self.assertTrue(self.held.resolved_at)
        self.assertEqual(self.held.resolution_note, "order imported as S00042")
        resolved_at = self.held.resolved_at
        quarantine.mark_resolved(note="again")  # idempotent
        self.assertEqual(self.held.resolved_at, resolved_at)
        self.assertEqual(self.held.resolution_note, "order imported as S00042")

    def test_resolved_decision_is_final_until_held_again(self):
        quarantine = self.held.with_user(self.manager)
        quarantine.action_discard()
        quarantine.mark_resolved()
        with self.assertRaises(UserError):
            quarantine.action_release()
        quarantine.action_discard()  # same decision: no-op, no error
        quarantine.action_hold()
        self.assertEqual(self.held.state, "held")
        self.assertFalse(self.held.resolved)
        quarantine.action_release()
        self.assertEqual(self.held.state, "released")

    def test_resolve_needs_a_decision(self):
        with self.assertRaises(UserError):
            self.held.with_user(self.daemon).mark_resolved()

    def test_plain_user_cannot_decide(self):
        quarantine = self.held.with_user(self.channel_user)
        self.assertEqual(quarantine.state, "held")  # can read
        for method in ("action_release", "action_discard", "action_hold", "mark_resolved"):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(quarantine, method)()
        self.assertEqual(self.held.state, "held")

    def test_employee_cannot_see_quarantine(self):
        with self.assertRaises(AccessError):
            self.held.with_user(self.employee).action_release()

    def test_state_only_changes_through_decisions(self):
        with self.assertRaises(UserError):
            self.held.with_user(self.manager).write({"state": "released"})
        with self.assertRaises(UserError):
            self.held.with_user(self.daemon).write({"state": "discarded"})
        # writing the same state is harmless
        self.held.with_user(self.manager).write({"state": "held"})

    def test_batch_release(self):
        other = self.held.copy({"daemon_ref": "q-2", "external_ref": "2"})
        both = (self.held | other).with_user(self.manager)
        both.action_release()
        self.assertEqual(set(both.mapped("state")), {"released"})

    def test_daemon_ref_unique_per_channel(self):
        self.held.copy({"daemon_ref": "q-1", "channel_id": self.channel_ebay.id})
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.held.copy({"daemon_ref": "q-1"})

    def test_record_reference(self):
        order = self.env["sale.order"].create({"partner_id": self.partner.id})
        self.held.write({"res_model": "sale.order", "res_id": order.id})
        self.assertEqual(self.held.record_ref, order)
        self.held.write({"res_id": order.id + 1000000})
        self.assertFalse(self.held.record_ref, "a missing record gives no reference")
        with self.assertRaises(ValidationError):
            self.held.write({"res_model": "no.such.model"})
