"""``python -m fer_client``: the command line."""

import sys

from fer_client.cli import main

sys.exit(main())
