from . import test_channel
from . import test_binding
from . import test_sale_order
from . import test_quarantine
from . import test_sync_run
from . import test_security
