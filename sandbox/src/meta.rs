//! What `fields_get` does not say about a model: `_order`, `_rec_name`, `_inherits`,
//! which fields are computed on read, one2many inverses, static defaults, SQL constraints.
//!
//! These are facts of the Odoo 19 source (`_order = ...`, `_sql_constraints`, `default=`),
//! written down once per model. The generic ORM reads them; business code never repeats them.

/// A static default: what a stored field reads as when nothing was written.
#[derive(Debug, Clone, Copy)]
pub enum Def {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct ModelMeta {
    /// `_order`, used when a search gives no order and when sorting by a many2one to this model.
    pub order: &'static str,
    /// The field behind `display_name` when no custom compute exists.
    pub rec_name: &'static str,
    /// `_inherits`: (parent model, link field). Fields of the parent that the child does not
    /// define itself are read and written through the link.
    pub inherits: Option<(&'static str, &'static str)>,
    /// For `_inherits` children: fields the child defines itself although the parent has them.
    pub own_fields: &'static [&'static str],
    /// Non-stored computed fields, answered by `compute.rs` on read and in domains.
    pub computed: &'static [&'static str],
    /// Stored fields' defaults that hold when nothing was written (sparse storage).
    pub defaults: &'static [(&'static str, Def)],
    /// one2many field → the many2one on the comodel that points back.
    pub inverses: &'static [(&'static str, &'static str)],
    /// one2many fields whose rows are deleted with the parent (`ondelete='cascade'`).
    pub cascade: &'static [&'static str],
    /// many2one columns with a secondary index (inverse lookups and fast `=`/`in` searches).
    pub indexed: &'static [&'static str],
    /// SQL UNIQUE constraints: (columns, message).
    pub unique: &'static [(&'static [&'static str], &'static str)],
    /// The hierarchy field used by `child_of` / `parent_of`.
    pub parent_field: Option<&'static str>,
    /// Float fields rounded on write: (field, decimal digits).
    pub digits: &'static [(&'static str, u32)],
    /// Wizards (`TransientModel`).
    pub transient: bool,
    /// x2many fields whose reads apply the field's domain: (field, boolean field of the
    /// comodel that must be set). `product.route_ids` only shows product-selectable routes.
    pub read_filters: &'static [(&'static str, &'static str)],
}

const BASE: ModelMeta = ModelMeta {
    order: "id",
    rec_name: "name",
    inherits: None,
    own_fields: &[],
    computed: &[],
    defaults: &[],
    inverses: &[],
    cascade: &[],
    indexed: &[],
    unique: &[],
    parent_field: None,
    digits: &[],
    transient: false,
    read_filters: &[],
};

/// The behaviour of `model` (a default for models without special behaviour).
pub fn meta(model: &str) -> ModelMeta {
    use Def::*;
    match model {
        "product.template" => ModelMeta {
            order: "is_favorite desc, name, id",
            computed: &[
                "qty_available",
                "virtual_available",
                "free_qty",
                "incoming_qty",
                "outgoing_qty",
                "product_variant_id",
                "product_variant_count",
                "currency_id",
                "cost_currency_id",
                "is_product_variant",
                "default_code",
                "barcode",
                "standard_price",
                "nbr_reordering_rules",
                "uom_name",
            ],
            defaults: &[
                ("type", Str("consu")),
                ("active", Bool(true)),
                ("sale_ok", Bool(true)),
                ("purchase_ok", Bool(true)),
                ("uom_id", Int(1)),
                ("categ_id", Int(1)),
                ("tracking", Str("none")),
                ("invoice_policy", Str("order")),
                ("service_tracking", Str("no")),
                ("purchase_method", Str("receive")),
                ("list_price", Float(1.0)),
                ("sale_line_warn", Str("no-message")),
                ("purchase_line_warn", Str("no-message")),
                ("sequence", Int(1)),
                ("expense_policy", Str("no")),
            ],
            inverses: &[
                ("product_variant_ids", "product_tmpl_id"),
                ("seller_ids", "product_tmpl_id"),
            ],
            cascade: &["product_variant_ids", "seller_ids"],
            digits: &[("list_price", 2)],
            read_filters: &[("route_ids", "product_selectable")],
            ..BASE
        },
        "product.product" => ModelMeta {
            order: "is_favorite desc, default_code, name, id",
            inherits: Some(("product.template", "product_tmpl_id")),
            own_fields: &[
                "id",
                "display_name",
                "create_uid",
                "create_date",
                "write_uid",
                "write_date",
                "product_tmpl_id",
                "default_code",
                "barcode",
                "active",
                "standard_price",
                "volume",
                "weight",
                "lst_price",
                "price_extra",
                "qty_available",
                "virtual_available",
                "free_qty",
                "incoming_qty",
                "outgoing_qty",
                "is_product_variant",
                "combination_indices",
                "product_template_attribute_value_ids",
                "product_template_variant_value_ids",
                "code",
                "partner_ref",
                "nbr_reordering_rules",
                "reordering_min_qty",
                "reordering_max_qty",
                "stock_quant_ids",
                "stock_move_ids",
                "variant_seller_ids",
                "orderpoint_ids",
            ],
            computed: &[
                "qty_available",
                "virtual_available",
                "free_qty",
                "incoming_qty",
                "outgoing_qty",
                "lst_price",
                "code",
                "partner_ref",
                "is_product_variant",
                "price_extra",
                "nbr_reordering_rules",
                "reordering_min_qty",
                "reordering_max_qty",
                "variant_seller_ids",
                "product_variant_count",
            ],
            defaults: &[("active", Bool(true))],
            inverses: &[
                ("stock_quant_ids", "product_id"),
                ("stock_move_ids", "product_id"),
                ("orderpoint_ids", "product_id"),
            ],
            indexed: &["product_tmpl_id"],
            digits: &[("standard_price", 2), ("lst_price", 2)],
            ..BASE
        },
        "stock.quant" => ModelMeta {
            order: "id",
            computed: &[
                "available_quantity",
                "inventory_diff_quantity",
                "warehouse_id",
                "product_tmpl_id",
                "product_uom_id",
                "product_categ_id",
                "tracking",
                "currency_id",
                "company_id",
                "is_outdated",
                "on_hand",
                "cost_method",
                "value",
            ],
            indexed: &["product_id", "location_id"],
            ..BASE
        },
        "stock.location" => ModelMeta {
            order: "complete_name, id",
            rec_name: "complete_name",
            computed: &["child_internal_location_ids", "is_empty"],
            defaults: &[("active", Bool(true)), ("usage", Str("internal"))],
            inverses: &[("child_ids", "location_id"), ("quant_ids", "location_id")],
            indexed: &["location_id"],
            parent_field: Some("location_id"),
            ..BASE
        },
        "stock.warehouse" => ModelMeta {
            order: "sequence,id",
            defaults: &[
                ("active", Bool(true)),
                ("reception_steps", Str("one_step")),
                ("delivery_steps", Str("ship_only")),
                ("company_id", Int(1)),
                ("sequence", Int(10)),
                ("buy_to_resupply", Bool(true)),
            ],
            unique: &[
                (
                    &["name", "company_id"],
                    "The name of the warehouse must be unique per company!",
                ),
                (
                    &["code", "company_id"],
                    "The short name of the warehouse must be unique per company!",
                ),
            ],
            ..BASE
        },
        "stock.picking.type" => ModelMeta {
            order: "sequence, id",
            defaults: &[
                ("active", Bool(true)),
                ("company_id", Int(1)),
                ("reservation_method", Str("at_confirm")),
                ("create_backorder", Str("ask")),
            ],
            ..BASE
        },
        "stock.route" => ModelMeta {
            order: "sequence",
            defaults: &[("active", Bool(true))],
            inverses: &[("rule_ids", "route_id")],
            ..BASE
        },
        "stock.rule" => ModelMeta {
            order: "sequence, id",
            defaults: &[
                ("active", Bool(true)),
                ("procure_method", Str("make_to_stock")),
                ("sequence", Int(20)),
            ],
            indexed: &["route_id"],
            ..BASE
        },
        "stock.picking" => ModelMeta {
            order: "priority desc, scheduled_date asc, id desc",
            computed: &[
                "picking_type_code",
                "products_availability",
                "show_check_availability",
                "has_packages",
                "return_count",
            ],
            defaults: &[
                ("move_type", Str("direct")),
                ("priority", Str("0")),
                ("state", Str("draft")),
                ("company_id", Int(1)),
            ],
            inverses: &[
                ("move_ids", "picking_id"),
                ("move_ids_without_package", "picking_id"),
                ("move_line_ids", "picking_id"),
                ("return_ids", "return_id"),
            ],
            cascade: &["move_ids", "move_line_ids"],
            indexed: &["sale_id", "return_id"],
            ..BASE
        },
        "stock.move" => ModelMeta {
            order: "sequence, id",
            computed: &[
                "product_qty",
                "availability",
                "picking_code",
                "product_tmpl_id",
            ],
            defaults: &[
                ("state", Str("draft")),
                ("procure_method", Str("make_to_stock")),
                ("company_id", Int(1)),
                ("sequence", Int(10)),
                ("priority", Str("0")),
            ],
            inverses: &[
                ("move_line_ids", "move_id"),
                ("returned_move_ids", "origin_returned_move_id"),
            ],
            cascade: &["move_line_ids"],
            indexed: &[
                "product_id",
                "picking_id",
                "sale_line_id",
                "purchase_line_id",
            ],
            digits: &[("product_uom_qty", 2), ("quantity", 2)],
            ..BASE
        },
        "stock.move.line" => ModelMeta {
            order: "result_package_id desc, id",
            computed: &["quantity_product_uom", "picking_code", "tracking"],
            defaults: &[("state", Str("draft")), ("company_id", Int(1))],
            indexed: &["move_id", "picking_id"],
            ..BASE
        },
        "stock.warehouse.orderpoint" => ModelMeta {
            order: "location_id,id",
            computed: &[
                "qty_on_hand",
                "qty_forecast",
                "qty_to_order",
                "effective_route_id",
                "effective_vendor_id",
                "product_uom",
                "lead_days_date",
            ],
            defaults: &[
                ("active", Bool(true)),
                ("trigger", Str("auto")),
                ("company_id", Int(1)),
            ],
            indexed: &["product_id"],
            ..BASE
        },
        "stock.return.picking" => ModelMeta {
            computed: &["picking_type_code"],
            inverses: &[("product_return_moves", "wizard_id")],
            cascade: &["product_return_moves"],
            transient: true,
            ..BASE
        },
        "stock.return.picking.line" => ModelMeta {
            computed: &["move_quantity", "uom_id"],
            defaults: &[("to_refund", Def::Bool(true))],
            indexed: &["wizard_id"],
            transient: true,
            ..BASE
        },
        "confirm.stock.sms" | "stock.backorder.confirmation" | "account.move.reversal" => {
            ModelMeta {
                transient: true,
                ..BASE
            }
        }
        "stock.scrap" => ModelMeta {
            order: "id desc",
            defaults: &[
                ("state", Str("draft")),
                ("company_id", Int(1)),
                ("should_replenish", Bool(false)),
            ],
            inverses: &[("move_ids", "scrap_id")],
            ..BASE
        },
        "sale.order" => ModelMeta {
            order: "date_order desc, id desc",
            computed: &[
                "picking_ids",
                "delivery_count",
                "invoice_ids",
                "invoice_count",
                "invoice_status",
                "has_archived_products",
                "amount_to_invoice",
                "amount_invoiced",
                "tax_totals",
                "type_name",
                "access_url",
                "is_expired",
                "amount_undiscounted",
                "procurement_group_id",
                "activity_ids",
                "activity_user_id",
                "activity_summary",
                "activity_date_deadline",
                "activity_state",
            ],
            defaults: &[
                ("state", Str("draft")),
                ("picking_policy", Str("direct")),
                ("company_id", Int(1)),
                ("locked", Bool(false)),
                ("require_signature", Bool(true)),
                ("require_payment", Bool(false)),
                ("currency_rate", Float(1.0)),
            ],
            inverses: &[("order_line", "order_id")],
            cascade: &["order_line"],
            ..BASE
        },
        "sale.order.line" => ModelMeta {
            order: "order_id, sequence, id",
            computed: &[
                "qty_delivered",
                "qty_to_invoice",
                "qty_invoiced",
                "invoice_status",
                "product_qty",
                "order_partner_id",
                "salesman_id",
                "currency_id",
                "state",
                "company_id",
                "product_type",
                "qty_to_deliver",
                "invoice_lines",
                "untaxed_amount_invoiced",
                "untaxed_amount_to_invoice",
            ],
            defaults: &[("sequence", Int(10)), ("customer_lead", Float(0.0))],
            inverses: &[("move_ids", "sale_line_id")],
            indexed: &["order_id"],
            digits: &[("price_unit", 2), ("product_uom_qty", 2)],
            ..BASE
        },
        "purchase.order" => ModelMeta {
            order: "priority desc, id desc",
            computed: &["invoice_count", "incoming_picking_count", "picking_ids"],
            defaults: &[
                ("state", Str("draft")),
                ("company_id", Int(1)),
                ("priority", Str("0")),
                ("invoice_status", Str("no")),
                ("receipt_status", Str("pending")),
            ],
            inverses: &[("order_line", "order_id")],
            cascade: &["order_line"],
            ..BASE
        },
        "purchase.order.line" => ModelMeta {
            order: "order_id, sequence, id",
            computed: &[
                "partner_id",
                "currency_id",
                "company_id",
                "state",
                "date_order",
                "product_type",
                "product_uom_qty",
            ],
            defaults: &[("sequence", Int(10))],
            inverses: &[("move_ids", "purchase_line_id")],
            indexed: &["order_id", "orderpoint_id"],
            ..BASE
        },
        "product.supplierinfo" => ModelMeta {
            order: "sequence, min_qty DESC, price, id",
            rec_name: "partner_id",
            computed: &[
                "product_uom_id",
                "price_discounted",
                "product_variant_count",
            ],
            defaults: &[
                ("sequence", Int(1)),
                ("min_qty", Float(0.0)),
                ("delay", Int(1)),
                ("company_id", Int(1)),
                ("currency_id", Int(1)),
            ],
            indexed: &["product_tmpl_id"],
            ..BASE
        },
        "res.partner" => ModelMeta {
            order: "complete_name ASC, id DESC",
            rec_name: "complete_name",
            computed: &["commercial_partner_id", "sale_order_count", "user_ids"],
            defaults: &[
                ("active", Bool(true)),
                ("type", Str("contact")),
                ("is_company", Bool(false)),
                ("customer_rank", Int(0)),
                ("supplier_rank", Int(0)),
                ("lang", Str("en_US")),
                ("autopost_bills", Str("ask")),
                ("invoice_sending_method", Str("email")),
                ("invoice_edi_format", Str("ubl_bis3")),
                ("group_on", Str("default")),
                ("group_rfq", Str("default")),
            ],
            inverses: &[("child_ids", "parent_id"), ("bank_ids", "partner_id")],
            indexed: &["parent_id"],
            parent_field: Some("parent_id"),
            ..BASE
        },
        "res.partner.bank" => ModelMeta {
            order: "sequence, id",
            rec_name: "acc_number",
            defaults: &[("active", Bool(true)), ("sequence", Int(10))],
            unique: &[(
                &["sanitized_acc_number", "partner_id"],
                "The combination Account Number/Partner must be unique.",
            )],
            indexed: &["partner_id"],
            ..BASE
        },
        "res.company" => ModelMeta {
            order: "sequence, name",
            defaults: &[("active", Bool(true)), ("sequence", Int(10))],
            ..BASE
        },
        "res.users" => ModelMeta {
            order: "name, login",
            defaults: &[("active", Bool(true)), ("company_id", Int(1))],
            unique: &[(
                &["login"],
                "You can not have two users with the same login!",
            )],
            ..BASE
        },
        "res.groups" => ModelMeta {
            order: "name",
            ..BASE
        },
        "res.country" => ModelMeta {
            order: "name",
            unique: &[(&["code"], "The code of the country must be unique!")],
            ..BASE
        },
        "res.currency" => ModelMeta {
            order: "active desc, name",
            computed: &[
                "rate",
                "inverse_rate",
                "rate_string",
                "date",
                "is_current_company_currency",
            ],
            defaults: &[
                ("active", Bool(true)),
                ("position", Str("after")),
                ("rounding", Float(0.01)),
            ],
            inverses: &[("rate_ids", "currency_id")],
            unique: &[(&["name"], "The currency code must be unique!")],
            ..BASE
        },
        "res.currency.rate" => ModelMeta {
            order: "name desc",
            computed: &["company_rate", "inverse_company_rate"],
            indexed: &["currency_id"],
            ..BASE
        },
        "uom.uom" => ModelMeta {
            order: "sequence, relative_uom_id, id",
            computed: &["factor"],
            defaults: &[
                ("active", Bool(true)),
                ("relative_factor", Float(1.0)),
                ("rounding", Float(0.01)),
            ],
            ..BASE
        },
        "mail.message" => ModelMeta {
            order: "id desc",
            computed: &["is_current_user_or_guest_author", "preview", "starred"],
            defaults: &[("message_type", Str("comment"))],
            inverses: &[("tracking_value_ids", "mail_message_id")],
            cascade: &["tracking_value_ids"],
            indexed: &["res_id"],
            ..BASE
        },
        "mail.tracking.value" => ModelMeta {
            order: "id desc",
            indexed: &["mail_message_id"],
            ..BASE
        },
        "mail.message.subtype" => ModelMeta {
            order: "sequence, id",
            ..BASE
        },
        "ir.logging" => ModelMeta {
            order: "id DESC",
            ..BASE
        },
        "ir.model.data" => ModelMeta {
            order: "module, model, name",
            computed: &["complete_name", "reference"],
            unique: &[(
                &["module", "name"],
                "You cannot have multiple records with the same external ID!",
            )],
            ..BASE
        },
        "ir.module.module" => ModelMeta {
            order: "application desc,sequence,name",
            ..BASE
        },
        "ir.config_parameter" => ModelMeta {
            order: "key",
            rec_name: "key",
            unique: &[(&["key"], "Key must be unique.")],
            ..BASE
        },
        "product.pricelist" => ModelMeta {
            order: "sequence, id, name",
            defaults: &[("active", Bool(true)), ("sequence", Int(16))],
            inverses: &[("item_ids", "pricelist_id")],
            cascade: &["item_ids"],
            ..BASE
        },
        "product.pricelist.item" => ModelMeta {
            order: "applied_on, min_quantity desc, categ_id desc, id desc",
            defaults: &[
                ("applied_on", Str("3_global")),
                ("base", Str("list_price")),
                ("compute_price", Str("fixed")),
                ("display_applied_on", Str("1_product")),
            ],
            indexed: &["pricelist_id"],
            ..BASE
        },
        "product.category" => ModelMeta {
            order: "complete_name",
            rec_name: "complete_name",
            inverses: &[("child_id", "parent_id")],
            parent_field: Some("parent_id"),
            ..BASE
        },
        "crm.team" => ModelMeta {
            order: "sequence ASC, create_date DESC, id DESC",
            defaults: &[("active", Bool(true)), ("sequence", Int(10))],
            ..BASE
        },
        "delivery.carrier" => ModelMeta {
            order: "sequence, id",
            defaults: &[
                ("active", Bool(true)),
                ("delivery_type", Str("fixed")),
                ("sequence", Int(10)),
                ("integration_level", Str("rate_and_ship")),
                ("invoice_policy", Str("estimated")),
            ],
            ..BASE
        },
        "account.move" => ModelMeta {
            order: "date desc, name desc, invoice_date desc, id desc",
            computed: &[
                "invoice_line_ids",
                "amount_paid",
                "matched_payment_ids",
                "payment_ids",
            ],
            defaults: &[
                ("state", Str("draft")),
                ("move_type", Str("entry")),
                ("company_id", Int(1)),
                ("payment_state", Str("not_paid")),
                ("auto_post", Str("no")),
            ],
            inverses: &[("line_ids", "move_id")],
            cascade: &["line_ids"],
            ..BASE
        },
        "account.move.line" => ModelMeta {
            order: "date desc, move_name desc, id",
            defaults: &[
                ("display_type", Str("product")),
                ("company_id", Int(1)),
                ("currency_id", Int(1)),
            ],
            indexed: &["move_id"],
            ..BASE
        },
        "account.payment" => ModelMeta {
            order: "date desc, name desc",
            defaults: &[
                ("state", Str("draft")),
                ("company_id", Int(1)),
                ("payment_type", Str("inbound")),
                ("partner_type", Str("customer")),
            ],
            ..BASE
        },
        "account.journal" => ModelMeta {
            order: "sequence, type, code",
            defaults: &[
                ("active", Bool(true)),
                ("company_id", Int(1)),
                ("invoice_reference_model", Str("odoo")),
                ("invoice_reference_type", Str("invoice")),
            ],
            ..BASE
        },
        "account.account" => ModelMeta {
            order: "code, id",
            defaults: &[("active", Bool(true))],
            ..BASE
        },
        "account.tax" => ModelMeta {
            order: "sequence,id",
            defaults: &[
                ("active", Bool(true)),
                ("amount_type", Str("percent")),
                ("sequence", Int(1)),
                ("company_id", Int(1)),
            ],
            ..BASE
        },
        "account.fiscal.position" => ModelMeta {
            order: "sequence",
            defaults: &[("active", Bool(true)), ("company_id", Int(1))],
            ..BASE
        },
        "account.bank.statement.line" => ModelMeta {
            order: "date desc, id desc",
            defaults: &[("company_id", Int(1))],
            ..BASE
        },
        "sale.advance.payment.inv" | "account.payment.register" => ModelMeta {
            transient: true,
            ..BASE
        },
        "ir.model.fields" => ModelMeta {
            order: "name",
            rec_name: "field_description",
            ..BASE
        },
        "ir.model" => ModelMeta {
            order: "model",
            ..BASE
        },
        "ir.sequence" => ModelMeta {
            order: "name",
            defaults: &[("implementation", Str("standard")), ("active", Bool(true))],
            ..BASE
        },
        // Held marketplace orders (business/activity.rs).
        "mail.activity" => ModelMeta {
            order: "date_deadline asc, id asc",
            rec_name: "summary",
            defaults: &[("active", Bool(true)), ("automated", Bool(false))],
            indexed: &["res_model_id"],
            ..BASE
        },
        "mail.activity.type" => ModelMeta {
            order: "sequence, id",
            defaults: &[
                ("active", Bool(true)),
                ("delay_unit", Str("days")),
                ("category", Str("default")),
            ],
            ..BASE
        },
        "crm.tag" => ModelMeta {
            order: "name",
            ..BASE
        },
        _ => BASE,
    }
}
