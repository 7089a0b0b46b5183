# Hand-written field definitions (Odoo 19.0 source) for models the reference run did not capture.
import json, os, sys
OUT = sys.argv[1]
def F(t, s, rel=None, req=False, ro=False, sel=None):
    d = {"readonly": ro, "required": req, "string": s, "type": t}
    if rel: d["relation"] = rel
    if sel is not None: d["selection"] = sel
    return d
def magic(uid_rel="res.users"):
    return {
        "id": F("integer", "ID", ro=True),
        "display_name": F("char", "Display Name", ro=True),
        "create_uid": F("many2one", "Created by", "res.users", ro=True),
        "create_date": F("datetime", "Created on", ro=True),
        "write_uid": F("many2one", "Last Updated by", "res.users", ro=True),
        "write_date": F("datetime", "Last Updated on", ro=True),
    }
M = {}
def model(name, desc, fields):
    d = magic(); d.update(fields); M[name] = (desc, d)

model("ir.module.module", "Module", {
    "name": F("char", "Technical Name", req=True, ro=True),
    "shortdesc": F("char", "Module Name", ro=True),
    "summary": F("char", "Summary", ro=True),
    "description": F("text", "Description", ro=True),
    "author": F("char", "Author", ro=True),
    "website": F("char", "Website", ro=True),
    "latest_version": F("char", "Installed Version", ro=True),
    "installed_version": F("char", "Latest Version", ro=True),
    "published_version": F("char", "Published Version", ro=True),
    "state": F("selection", "Status", ro=True, sel=[["uninstallable","Uninstallable"],["uninstalled","Not Installed"],["installed","Installed"],["to upgrade","To be upgraded"],["to remove","To be removed"],["to install","To be installed"]]),
    "demo": F("boolean", "Demo Data", ro=True),
    "application": F("boolean", "Application", ro=True),
    "auto_install": F("boolean", "Automatic Installation", ro=True),
    "license": F("selection", "License", ro=True, sel=[["GPL-2","GPL Version 2"],["GPL-2 or any later version","GPL-2 or later version"],["GPL-3","GPL Version 3"],["GPL-3 or any later version","GPL-3 or later version"],["AGPL-3","Affero GPL-3"],["LGPL-3","LGPL Version 3"],["Other OSI approved licence","Other OSI Approved License"],["OEEL-1","Odoo Enterprise Edition License v1.0"],["OPL-1","Odoo Proprietary License v1.0"],["Other proprietary","Other Proprietary"]]),
    "category_id": F("many2one", "Category", "ir.module.category", ro=True),
    "sequence": F("integer", "Sequence"),
})
model("res.company", "Companies", {
    "name": F("char", "Company Name", req=True),
    "active": F("boolean", "Active"),
    "sequence": F("integer", "Sequence"),
    "parent_id": F("many2one", "Parent Company", "res.company"),
    "child_ids": F("one2many", "Branches", "res.company"),
    "partner_id": F("many2one", "Partner", "res.partner", req=True),
    "currency_id": F("many2one", "Currency", "res.currency", req=True),
    "country_id": F("many2one", "Country", "res.country"),
    "email": F("char", "Email"),
    "phone": F("char", "Phone"),
    "street": F("char", "Street"),
    "city": F("char", "City"),
    "zip": F("char", "Zip"),
    "vat": F("char", "Tax ID"),
    "account_sale_tax_id": F("many2one", "Default Sale Tax", "account.tax"),
    "account_purchase_tax_id": F("many2one", "Default Purchase Tax", "account.tax"),
    "annual_inventory_day": F("integer", "Day of the month"),
    "annual_inventory_month": F("selection", "Annual Inventory Month", sel=[[str(i), m] for i, m in enumerate(["January","February","March","April","May","June","July","August","September","October","November","December"], 1)]),
    "stock_move_sms_validation": F("boolean", "SMS Confirmation"),
    "has_received_warning_stock_sms": F("boolean", "Has Received Warning Stock Sms"),
    "quotation_validity_days": F("integer", "Default Quotation Validity"),
    "tax_calculation_rounding_method": F("selection", "Tax Calculation Rounding Method", sel=[["round_per_line","Round per Line"],["round_globally","Round Globally"]]),
})
model("res.users", "User", {
    "login": F("char", "Login", req=True),
    "name": F("char", "Name", req=True),
    "partner_id": F("many2one", "Related Partner", "res.partner", req=True),
    "company_id": F("many2one", "Company", "res.company", req=True),
    "company_ids": F("many2many", "Companies", "res.company"),
    "active": F("boolean", "Active"),
    "group_ids": F("many2many", "Groups", "res.groups"),
    "share": F("boolean", "Share User", ro=True),
    "email": F("char", "Email"),
    "tz": F("selection", "Timezone", sel=[["Europe/Brussels","Europe/Brussels"],["UTC","UTC"],["America/New_York","America/New_York"]]),
    "lang": F("selection", "Language", sel=[["en_US","English (US)"]]),
    "signature": F("html", "Email Signature"),
})
model("res.groups", "Access Groups", {
    "name": F("char", "Name", req=True),
    "full_name": F("char", "Group Name", ro=True),
    "user_ids": F("many2many", "Users", "res.users"),
    "implied_ids": F("many2many", "Inherits", "res.groups"),
    "share": F("boolean", "Share Group"),
    "comment": F("text", "Comment"),
})
model("res.country", "Country", {
    "name": F("char", "Country Name", req=True),
    "code": F("char", "Country Code", req=True),
    "currency_id": F("many2one", "Currency", "res.currency"),
    "phone_code": F("integer", "Country Calling Code"),
    "state_ids": F("one2many", "States", "res.country.state"),
    "vat_label": F("char", "Vat Label"),
    "zip_required": F("boolean", "Zip Required"),
    "state_required": F("boolean", "State Required"),
})
model("uom.uom", "Product Unit of Measure", {
    "name": F("char", "Unit Name", req=True),
    "active": F("boolean", "Active"),
    "sequence": F("integer", "Sequence"),
    "relative_factor": F("float", "Contains", req=True),
    "relative_uom_id": F("many2one", "Reference Unit", "uom.uom"),
    "factor": F("float", "Absolute Quantity", ro=True),
    "rounding": F("float", "Rounding Precision", ro=True),
    "related_uom_ids": F("one2many", "Related UoMs", "uom.uom"),
    "parent_path": F("char", "Parent Path"),
})
model("stock.move.line", "Product Moves (Stock Move Line)", {
    "move_id": F("many2one", "Stock Operation", "stock.move"),
    "picking_id": F("many2one", "Transfer", "stock.picking"),
    "company_id": F("many2one", "Company", "res.company", req=True, ro=True),
    "product_id": F("many2one", "Product", "product.product"),
    "product_uom_id": F("many2one", "Unit", "uom.uom", req=True),
    "quantity": F("float", "Quantity"),
    "quantity_product_uom": F("float", "Quantity in Product UoM", ro=True),
    "picked": F("boolean", "Picked"),
    "location_id": F("many2one", "From", "stock.location", req=True),
    "location_dest_id": F("many2one", "To", "stock.location", req=True),
    "lot_id": F("many2one", "Lot/Serial Number", "stock.lot"),
    "lot_name": F("char", "Lot/Serial Number Name"),
    "package_id": F("many2one", "Source Package", "stock.package"),
    "result_package_id": F("many2one", "Destination Package", "stock.package"),
    "owner_id": F("many2one", "From Owner", "res.partner"),
    "state": F("selection", "Status", ro=True, sel=[["draft","New"],["waiting","Waiting Another Move"],["confirmed","Waiting Availability"],["partially_available","Partially Available"],["assigned","Available"],["done","Done"],["cancel","Cancelled"]]),
    "reference": F("char", "Reference", ro=True),
    "origin": F("char", "Source", ro=True),
    "date": F("datetime", "Date", req=True),
    "picking_code": F("selection", "Picking Code", ro=True, sel=[["incoming","Receipt"],["outgoing","Delivery"],["internal","Internal Transfer"]]),
    "picking_type_id": F("many2one", "Operation type", "stock.picking.type"),
    "quant_id": F("many2one", "Pick From", "stock.quant"),
    "is_inventory": F("boolean", "Is Inventory", ro=True),
    "tracking": F("selection", "Product with Tracking", ro=True, sel=[["serial","By Unique Serial Number"],["lot","By Lots"],["none","By Quantity"]]),
})
model("stock.picking.type", "Picking Type", {
    "name": F("char", "Operation Type", req=True),
    "code": F("selection", "Type of Operation", req=True, sel=[["incoming","Receipt"],["outgoing","Delivery"],["internal","Internal Transfer"]]),
    "sequence": F("integer", "Sequence"),
    "sequence_code": F("char", "Sequence Prefix", req=True),
    "sequence_id": F("many2one", "Reference Sequence", "ir.sequence"),
    "warehouse_id": F("many2one", "Warehouse", "stock.warehouse"),
    "default_location_src_id": F("many2one", "Source Location", "stock.location", req=True),
    "default_location_dest_id": F("many2one", "Destination Location", "stock.location", req=True),
    "return_picking_type_id": F("many2one", "Operation Type for Returns", "stock.picking.type"),
    "active": F("boolean", "Active"),
    "company_id": F("many2one", "Company", "res.company", req=True),
    "reservation_method": F("selection", "Reservation Method", req=True, sel=[["at_confirm","At Confirmation"],["manual","Manually"],["by_date","Before scheduled date"]]),
    "create_backorder": F("selection", "Create Backorder", req=True, sel=[["ask","Ask"],["always","Always"],["never","Never"]]),
    "count_picking_ready": F("integer", "Count Picking Ready", ro=True),
})
model("mail.tracking.value", "Mail Tracking Value", {
    "field_id": F("many2one", "Field", "ir.model.fields", ro=True),
    "field_info": F("json", "Removed field information"),
    "old_value_integer": F("integer", "Old Value Integer", ro=True),
    "old_value_float": F("float", "Old Value Float", ro=True),
    "old_value_char": F("char", "Old Value Char", ro=True),
    "old_value_text": F("text", "Old Value Text", ro=True),
    "old_value_datetime": F("datetime", "Old Value DateTime", ro=True),
    "new_value_integer": F("integer", "New Value Integer", ro=True),
    "new_value_float": F("float", "New Value Float", ro=True),
    "new_value_char": F("char", "New Value Char", ro=True),
    "new_value_text": F("text", "New Value Text", ro=True),
    "new_value_datetime": F("datetime", "New Value Datetime", ro=True),
    "currency_id": F("many2one", "Currency", "res.currency", ro=True),
    "mail_message_id": F("many2one", "Message ID", "mail.message", req=True),
})
model("stock.return.picking", "Return Picking", {
    "picking_id": F("many2one", "Picking", "stock.picking"),
    "product_return_moves": F("one2many", "Moves", "stock.return.picking.line"),
    "company_id": F("many2one", "Company", "res.company", ro=True),
    "picking_type_code": F("selection", "Type of Operation", ro=True, sel=[["incoming","Receipt"],["outgoing","Delivery"],["internal","Internal Transfer"]]),
    "location_id": F("many2one", "Return Location", "stock.location"),
})
model("stock.return.picking.line", "Return Picking Line", {
    "product_id": F("many2one", "Product", "product.product", req=True),
    "move_quantity": F("float", "Move Quantity", ro=True),
    "quantity": F("float", "Quantity", req=True),
    "uom_id": F("many2one", "Unit", "uom.uom", ro=True),
    "wizard_id": F("many2one", "Wizard", "stock.return.picking"),
    "move_id": F("many2one", "Move", "stock.move"),
    "to_refund": F("boolean", "Update quantities on SO/PO"),
})
model("confirm.stock.sms", "Confirm Stock SMS", {
    "pick_ids": F("many2many", "Pick", "stock.picking"),
})
model("sale.advance.payment.inv", "Sales Advance Payment Invoice", {
    "advance_payment_method": F("selection", "Create Invoice", req=True, sel=[["delivered","Regular invoice"],["percentage","Down payment (percentage)"],["fixed","Down payment (fixed amount)"]]),
    "count": F("integer", "Order Count", ro=True),
    "sale_order_ids": F("many2many", "Sale Order", "sale.order"),
    "has_down_payments": F("boolean", "Has down payments", ro=True),
    "deduct_down_payments": F("boolean", "Deduct down payments"),
    "consolidated_billing": F("boolean", "Consolidated Billing"),
    "amount": F("float", "Down Payment"),
    "fixed_amount": F("monetary", "Down Payment Amount (Fixed)"),
    "currency_id": F("many2one", "Currency", "res.currency", ro=True),
    "company_id": F("many2one", "Company", "res.company", ro=True),
    "amount_invoiced": F("monetary", "Already invoiced", ro=True),
    "amount_to_invoice": F("monetary", "Amount to invoice", ro=True),
    "display_draft_invoice_warning": F("boolean", "Display Draft Invoice Warning", ro=True),
    "display_invoice_amount_warning": F("boolean", "Display Invoice Amount Warning", ro=True),
})
model("account.payment.register", "Pay", {
    "payment_date": F("date", "Payment Date", req=True),
    "amount": F("monetary", "Amount"),
    "communication": F("char", "Memo"),
    "group_payment": F("boolean", "Group Payments"),
    "currency_id": F("many2one", "Currency", "res.currency"),
    "journal_id": F("many2one", "Journal", "account.journal"),
    "company_id": F("many2one", "Company", "res.company", ro=True),
    "partner_bank_id": F("many2one", "Recipient Bank Account", "res.partner.bank"),
    "line_ids": F("many2many", "Journal items", "account.move.line"),
    "payment_type": F("selection", "Payment Type", sel=[["outbound","Send"],["inbound","Receive"]]),
    "partner_type": F("selection", "Partner Type", sel=[["customer","Customer"],["supplier","Vendor"]]),
    "source_amount": F("monetary", "Amount to Pay (company currency)", ro=True),
    "source_amount_currency": F("monetary", "Amount to Pay (foreign currency)", ro=True),
    "source_currency_id": F("many2one", "Source Currency", "res.currency", ro=True),
    "can_edit_wizard": F("boolean", "Can Edit Wizard", ro=True),
    "can_group_payments": F("boolean", "Can Group Payments", ro=True),
    "payment_method_line_id": F("many2one", "Payment Method", "account.payment.method.line"),
    "partner_id": F("many2one", "Customer/Vendor", "res.partner"),
    "payment_difference": F("monetary", "Payment Difference", ro=True),
    "payment_difference_handling": F("selection", "Payment Difference Handling", sel=[["open","Keep open"],["reconcile","Mark as fully paid"]]),
    "writeoff_account_id": F("many2one", "Difference Account", "account.account"),
    "writeoff_label": F("char", "Journal Item Label"),
    "installments_mode": F("selection", "Installments Mode", sel=[["next","Next Installment"],["overdue","Overdue Amount"],["before_date","Before Next Payment Date"],["full","Full Amount"]]),
})
model("account.bank.statement.line", "Bank Statement Line", {
    "move_id": F("many2one", "Journal Entry", "account.move", req=True, ro=True),
    "journal_id": F("many2one", "Journal", "account.journal", req=True),
    "company_id": F("many2one", "Company", "res.company", ro=True),
    "statement_id": F("many2one", "Statement", "account.bank.statement"),
    "name": F("char", "Number"),
    "date": F("date", "Date", req=True),
    "sequence": F("integer", "Sequence"),
    "partner_id": F("many2one", "Partner", "res.partner"),
    "account_number": F("char", "Bank Account Number"),
    "partner_name": F("char", "Partner Name"),
    "transaction_type": F("char", "Transaction Type"),
    "payment_ref": F("char", "Label"),
    "currency_id": F("many2one", "Journal Currency", "res.currency", ro=True),
    "amount": F("monetary", "Amount"),
    "foreign_currency_id": F("many2one", "Foreign Currency", "res.currency"),
    "amount_currency": F("monetary", "Amount in Currency"),
    "amount_residual": F("float", "Residual Amount", ro=True),
    "is_reconciled": F("boolean", "Is Reconciled", ro=True),
    "state": F("selection", "Status", ro=True, sel=[["draft","Draft"],["posted","Posted"],["cancel","Cancelled"]]),
    "ref": F("char", "Reference"),
    "narration": F("html", "Terms and Conditions"),
})
model("res.partner.bank", "Bank Accounts", {
    "active": F("boolean", "Active"),
    "acc_type": F("selection", "Type", ro=True, sel=[["bank","Normal"],["iban","IBAN"]]),
    "acc_number": F("char", "Account Number", req=True),
    "sanitized_acc_number": F("char", "Sanitized Account Number", ro=True),
    "acc_holder_name": F("char", "Account Holder Name"),
    "partner_id": F("many2one", "Account Holder", "res.partner", req=True),
    "allow_out_payment": F("boolean", "Send Money"),
    "bank_id": F("many2one", "Bank", "res.bank"),
    "bank_name": F("char", "Name", ro=True),
    "bank_bic": F("char", "Bank Identifier Code", ro=True),
    "sequence": F("integer", "Sequence"),
    "currency_id": F("many2one", "Currency", "res.currency"),
    "company_id": F("many2one", "Company", "res.company"),
    "country_code": F("char", "Country Code", ro=True),
    "note": F("text", "Notes"),
})
model("ir.model.data", "Model Data", {
    "name": F("char", "External Identifier", req=True),
    "complete_name": F("char", "Complete ID", ro=True),
    "model": F("char", "Model Name", req=True),
    "module": F("char", "Module", req=True),
    "res_id": F("many2one_reference", "Record ID"),
    "noupdate": F("boolean", "Non Updatable"),
    "reference": F("char", "Reference", ro=True),
})
model("product.supplierinfo", "Supplier Pricelist", {
    "partner_id": F("many2one", "Vendor", "res.partner", req=True),
    "product_name": F("char", "Vendor Product Name"),
    "product_code": F("char", "Vendor Product Code"),
    "sequence": F("integer", "Sequence"),
    "product_uom_id": F("many2one", "Unit", "uom.uom", ro=True),
    "min_qty": F("float", "Quantity", req=True),
    "price": F("float", "Unit Price", req=True),
    "price_discounted": F("float", "Discounted Price", ro=True),
    "company_id": F("many2one", "Company", "res.company"),
    "currency_id": F("many2one", "Currency", "res.currency", req=True),
    "date_start": F("date", "Start Date"),
    "date_end": F("date", "End Date"),
    "product_id": F("many2one", "Product Variant", "product.product"),
    "product_tmpl_id": F("many2one", "Product Template", "product.template"),
    "product_variant_count": F("integer", "Variant Count", ro=True),
    "delay": F("integer", "Lead Time", req=True),
    "discount": F("float", "Discount (%)"),
})
model("purchase.order.line", "Purchase Order Line", {
    "name": F("text", "Description", req=True),
    "sequence": F("integer", "Sequence"),
    "product_qty": F("float", "Quantity", req=True),
    "product_uom_qty": F("float", "Total Quantity", ro=True),
    "date_planned": F("datetime", "Expected Arrival"),
    "discount": F("float", "Discount (%)"),
    "tax_ids": F("many2many", "Taxes", "account.tax"),
    "product_uom_id": F("many2one", "Unit", "uom.uom"),
    "product_id": F("many2one", "Product", "product.product"),
    "product_type": F("selection", "Product Type", ro=True, sel=[["consu","Goods"],["service","Service"],["combo","Combo"]]),
    "price_unit": F("float", "Unit Price", req=True),
    "price_subtotal": F("monetary", "Subtotal", ro=True),
    "price_total": F("monetary", "Total", ro=True),
    "price_tax": F("float", "Tax", ro=True),
    "order_id": F("many2one", "Order Reference", "purchase.order", req=True),
    "company_id": F("many2one", "Company", "res.company", ro=True),
    "state": F("selection", "Status", ro=True, sel=[["draft","RFQ"],["sent","RFQ Sent"],["to approve","To Approve"],["purchase","Purchase Order"],["cancel","Cancelled"]]),
    "partner_id": F("many2one", "Partner", "res.partner", ro=True),
    "currency_id": F("many2one", "Currency", "res.currency", ro=True),
    "date_order": F("datetime", "Order Date", ro=True),
    "qty_received": F("float", "Received Qty"),
    "qty_invoiced": F("float", "Billed Qty", ro=True),
    "qty_to_invoice": F("float", "To Invoice Quantity", ro=True),
    "display_type": F("selection", "Display Type", sel=[["line_section","Section"],["line_subsection","Subsection"],["line_note","Note"]]),
    "orderpoint_id": F("many2one", "Orderpoint", "stock.warehouse.orderpoint"),
    "move_ids": F("one2many", "Reservation", "stock.move", ro=True),
    "move_dest_ids": F("many2many", "Downstream moves alt", "stock.move"),
    "sale_line_id": F("many2one", "Origin Sale Item", "sale.order.line"),
})
model("res.currency.rate", "Currency Rate", {
    "name": F("date", "Date", req=True),
    "rate": F("float", "Technical Rate"),
    "company_rate": F("float", "Unit per USD"),
    "inverse_company_rate": F("float", "USD per Unit"),
    "currency_id": F("many2one", "Currency", "res.currency", req=True, ro=True),
    "company_id": F("many2one", "Company", "res.company"),
})
model("ir.config_parameter", "System Parameter", {
    "key": F("char", "Key", req=True),
    "value": F("text", "Value", req=True),
})
model("account.account", "Account", {
    "name": F("char", "Account Name", req=True),
    "code": F("char", "Code"),
    "account_type": F("selection", "Type", req=True, sel=[["asset_receivable","Receivable"],["asset_cash","Bank and Cash"],["asset_current","Current Assets"],["asset_non_current","Non-current Assets"],["asset_prepayments","Prepayments"],["asset_fixed","Fixed Assets"],["liability_payable","Payable"],["liability_credit_card","Credit Card"],["liability_current","Current Liabilities"],["liability_non_current","Non-current Liabilities"],["equity","Equity"],["equity_unaffected","Current Year Earnings"],["income","Income"],["income_other","Other Income"],["expense","Expenses"],["expense_other","Other Expenses"],["expense_depreciation","Depreciation"],["expense_direct_cost","Cost of Revenue"],["off_balance","Off-Balance Sheet"]]),
    "reconcile": F("boolean", "Allow Reconciliation"),
    "active": F("boolean", "Active"),
    "currency_id": F("many2one", "Account Currency", "res.currency"),
    "company_ids": F("many2many", "Companies", "res.company", req=True),
})
model("account.tax", "Tax", {
    "name": F("char", "Tax Name", req=True),
    "type_tax_use": F("selection", "Tax Type", req=True, sel=[["sale","Sales"],["purchase","Purchases"],["none","None"]]),
    "amount_type": F("selection", "Tax Computation", req=True, sel=[["group","Group of Taxes"],["fixed","Fixed"],["percent","Percentage"],["division","Percentage Tax Included"]]),
    "amount": F("float", "Amount", req=True),
    "active": F("boolean", "Active"),
    "company_id": F("many2one", "Company", "res.company", req=True),
    "price_include": F("boolean", "Included in Price", ro=True),
    "tax_group_id": F("many2one", "Tax Group", "account.tax.group", req=True),
    "description": F("html", "Description"),
    "sequence": F("integer", "Sequence", req=True),
})
model("account.tax.group", "Tax Group", {
    "name": F("char", "Name", req=True),
    "sequence": F("integer", "Sequence"),
    "company_id": F("many2one", "Company", "res.company", req=True),
})
model("account.fiscal.position", "Fiscal Position", {
    "name": F("char", "Fiscal Position", req=True),
    "active": F("boolean", "Active"),
    "sequence": F("integer", "Sequence"),
    "company_id": F("many2one", "Company", "res.company", req=True),
    "auto_apply": F("boolean", "Detect Automatically"),
    "country_id": F("many2one", "Country", "res.country"),
    "country_group_id": F("many2one", "Country Group", "res.country.group"),
    "vat_required": F("boolean", "VAT required"),
    "tax_ids": F("many2many", "Taxes", "account.tax"),
})
model("account.payment.method.line", "Payment Methods", {
    "name": F("char", "Name"),
    "sequence": F("integer", "Sequence"),
    "payment_method_id": F("many2one", "Payment Method", "account.payment.method", req=True),
    "payment_account_id": F("many2one", "Outstanding Receipts/Payments Account", "account.account"),
    "journal_id": F("many2one", "Journal", "account.journal"),
    "payment_type": F("selection", "Payment Type", ro=True, sel=[["inbound","Inbound"],["outbound","Outbound"]]),
    "code": F("char", "Code", ro=True),
})
model("product.category", "Product Category", {
    "name": F("char", "Name", req=True),
    "complete_name": F("char", "Complete Name", ro=True),
    "parent_id": F("many2one", "Parent Category", "product.category"),
    "parent_path": F("char", "Parent Path"),
    "child_id": F("one2many", "Child Categories", "product.category"),
    "product_count": F("integer", "# Products", ro=True),
    "route_ids": F("many2many", "Routes", "stock.route"),
    "property_cost_method": F("selection", "Costing Method", sel=[["standard","Standard Price"],["fifo","First In First Out (FIFO)"],["average","Average Cost (AVCO)"]]),
})
model("stock.rule", "Stock Rule", {
    "name": F("char", "Name", req=True),
    "active": F("boolean", "Active"),
    "action": F("selection", "Action", req=True, sel=[["pull","Pull From"],["push","Push To"],["pull_push","Pull & Push"],["buy","Buy"]]),
    "sequence": F("integer", "Sequence"),
    "company_id": F("many2one", "Company", "res.company"),
    "location_dest_id": F("many2one", "Destination Location", "stock.location", req=True),
    "location_src_id": F("many2one", "Source Location", "stock.location"),
    "route_id": F("many2one", "Route", "stock.route", req=True),
    "picking_type_id": F("many2one", "Operation Type", "stock.picking.type", req=True),
    "procure_method": F("selection", "Supply Method", req=True, sel=[["make_to_stock","Take From Stock"],["make_to_order","Trigger Another Rule"],["mts_else_mto","Take From Stock, if unavailable, Trigger Another Rule"]]),
    "warehouse_id": F("many2one", "Warehouse", "stock.warehouse"),
})
model("ir.model.fields", "Fields", {
    "name": F("char", "Field Name", req=True),
    "field_description": F("char", "Field Label", req=True),
    "model": F("char", "Model Name", req=True),
    "model_id": F("many2one", "Model", "ir.model", req=True),
    "ttype": F("selection", "Field Type", req=True, sel=[["char","char"],["text","text"],["html","html"],["integer","integer"],["float","float"],["monetary","monetary"],["boolean","boolean"],["date","date"],["datetime","datetime"],["selection","selection"],["many2one","many2one"],["one2many","one2many"],["many2many","many2many"],["binary","binary"],["json","json"],["properties","properties"]]),
    "relation": F("char", "Related Model"),
    "required": F("boolean", "Required"),
    "readonly": F("boolean", "Readonly"),
    "store": F("boolean", "Stored"),
})
model("ir.model", "Models", {
    "name": F("char", "Model Description", req=True),
    "model": F("char", "Model", req=True),
    "field_id": F("one2many", "Fields", "ir.model.fields", req=True),
    "transient": F("boolean", "Transient Model"),
})
model("mail.message.subtype", "Message subtypes", {
    "name": F("char", "Message Type", req=True),
    "description": F("text", "Description"),
    "internal": F("boolean", "Internal Only"),
    "res_model": F("char", "Model"),
    "default": F("boolean", "Default"),
    "sequence": F("integer", "Sequence"),
    "hidden": F("boolean", "Hidden"),
    "track_recipients": F("boolean", "Track Recipients"),
})
model("ir.sequence", "Sequence", {
    "name": F("char", "Name", req=True),
    "code": F("char", "Sequence Code"),
    "implementation": F("selection", "Implementation", req=True, sel=[["standard","Standard"],["no_gap","No gap"]]),
    "active": F("boolean", "Active"),
    "prefix": F("char", "Prefix"),
    "suffix": F("char", "Suffix"),
    "number_next": F("integer", "Next Number", req=True),
    "number_next_actual": F("integer", "Actual Next Number"),
    "number_increment": F("integer", "Step", req=True),
    "padding": F("integer", "Sequence Size", req=True),
    "company_id": F("many2one", "Company", "res.company"),
})
model("stock.reference", "Inventory Reference", {
    "name": F("char", "Reference", req=True),
    "move_ids": F("many2many", "Moves", "stock.move"),
    "sale_ids": F("many2many", "Sales", "sale.order"),
    "purchase_ids": F("many2many", "Purchases", "purchase.order"),
})
model("stock.lot", "Lot/Serial", {
    "name": F("char", "Lot/Serial Number", req=True),
    "product_id": F("many2one", "Product", "product.product", req=True),
    "company_id": F("many2one", "Company", "res.company"),
})
model("account.payment.term", "Payment Terms", {
    "name": F("char", "Payment Terms", req=True),
    "active": F("boolean", "Active"),
    "sequence": F("integer", "Sequence", req=True),
    "company_id": F("many2one", "Company", "res.company"),
})

model("crm.tag", "CRM Tag", {
    "name": F("char", "Tag Name", req=True),
    "color": F("integer", "Color"),
})
model("mail.activity.type", "Activity Type", {
    "name": F("char", "Name", req=True),
    "summary": F("char", "Default Summary"),
    "sequence": F("integer", "Sequence"),
    "active": F("boolean", "Active"),
    "delay_count": F("integer", "Schedule"),
    "delay_unit": F("selection", "Delay units", req=True, sel=[["days","days"],["weeks","weeks"],["months","months"]]),
    "category": F("selection", "Action", sel=[["default","None"],["upload_file","Upload Document"],["phonecall","Phonecall"],["meeting","Meeting"]]),
    "res_model": F("selection", "Model", sel=[]),
    "icon": F("char", "Icon"),
    "decoration_type": F("selection", "Decoration Type", sel=[["warning","Alert"],["danger","Error"]]),
    "default_user_id": F("many2one", "Default User", "res.users"),
    "default_note": F("html", "Default Note"),
})
model("mail.activity", "Activity", {
    "res_model_id": F("many2one", "Document Model", "ir.model", req=True),
    "res_model": F("char", "Related Document Model", ro=True),
    "res_id": F("many2one_reference", "Related Document ID", req=True),
    "res_name": F("char", "Document Name", ro=True),
    "activity_type_id": F("many2one", "Activity Type", "mail.activity.type"),
    "activity_category": F("selection", "Action", ro=True, sel=[["default","None"],["upload_file","Upload Document"],["phonecall","Phonecall"],["meeting","Meeting"]]),
    "icon": F("char", "Icon", ro=True),
    "summary": F("char", "Summary"),
    "note": F("html", "Note"),
    "date_deadline": F("date", "Due Date", req=True),
    "date_done": F("date", "Done Date", ro=True),
    "automated": F("boolean", "Automated activity", ro=True),
    "user_id": F("many2one", "Assigned to", "res.users"),
    "request_partner_id": F("many2one", "Requesting Partner", "res.partner"),
    "state": F("selection", "State", ro=True, sel=[["overdue","Overdue"],["today","Today"],["planned","Planned"],["done","Done"]]),
    "active": F("boolean", "Active"),
    "can_write": F("boolean", "Can Write", ro=True),
})

os.makedirs(OUT, exist_ok=True)
index = {}
for name, (desc, fields) in M.items():
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(dict(sorted(fields.items())), f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    index[name] = {"description": desc, "captured": False}
with open(os.path.join(OUT, "_index.json"), "w") as f:
    json.dump(index, f, indent=1, sort_keys=True)
    f.write("\n")
print(len(M), "models")
