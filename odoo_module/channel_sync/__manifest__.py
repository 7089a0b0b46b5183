# Copyright 2026 odoo-channels contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
# "installable": True is kept explicit, as in every OCA manifest.
# pylint: disable=manifest-superfluous-key
{
    "name": "Channel Sync",
    "summary": "Monitor and steer the odoo-channels multichannel daemon "
    "(Shopify, Amazon, eBay, Walmart, TikTok Shop, Etsy) from Odoo",
    "version": "19.0.1.0.0",
    "category": "Sales",
    "website": "https://github.com/odoo-channels/odoo-channels",
    "author": "odoo-channels contributors",
    "license": "LGPL-3",
    "application": True,
    "installable": True,
    "depends": [
        "mail",
        "account",
        "stock",
        "sale_management",
        # stock.picking.sale_id (used for the channel and ship-by date on
        # deliveries) comes from sale_stock, which is auto-installed with
        # sale + stock anyway: depend on it explicitly.
        "sale_stock",
    ],
    "data": [
        "security/channel_sync_security.xml",
        "security/ir.model.access.csv",
        "data/ir_config_parameter.xml",
        "data/ir_cron.xml",
        "views/channel_channel_views.xml",
        "views/channel_product_binding_views.xml",
        "views/channel_sync_run_views.xml",
        "views/channel_quarantine_views.xml",
        "views/sale_order_views.xml",
        "views/stock_picking_views.xml",
        "views/product_views.xml",
        "views/channel_sync_menus.xml",
    ],
    "demo": [
        "demo/channel_demo.xml",
    ],
}
