from . import channel_channel
from . import channel_binding_specific
from . import channel_product_binding
from . import channel_sync_run
from . import channel_quarantine
from . import sale_order
from . import stock_picking
from . import product
