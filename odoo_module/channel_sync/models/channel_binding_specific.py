# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ChannelBindingSpecific(models.Model):
    """One eBay item specific (aspect) of a binding: a name and its value,
    e.g. Brand = Acme.  Several values of one aspect are separated by
    ``|`` in ``value`` (Color = Red|Blue)."""

    _name = "channel.binding.specific"
    _description = "Channel Binding Item Specific"
    _order = "binding_id, sequence, id"

    binding_id = fields.Many2one(
        comodel_name="channel.product.binding",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="binding_id.company_id", store=True, index=True, precompute=True
    )
    sequence = fields.Integer(default=10)
    name = fields.Char(string="Aspect", required=True)
    value = fields.Char(required=True)

    _binding_name_uniq = models.Constraint(
        "UNIQUE(binding_id, name)",
        "Each item specific can appear only once per binding; separate "
        "several values with '|'.",
    )

    @api.constrains("name", "value")
    def _check_not_blank(self):
        for specific in self:
            if not (specific.name or "").strip() or not (specific.value or "").strip():
                raise ValidationError(
                    self.env._(
                        "Item specific %(name)r on binding %(binding)s needs a "
                        "name and a value.",
                        name=specific.name or "",
                        binding=specific.binding_id.display_name,
                    )
                )
