"""``python -m velocity.cli``: the ``velocity`` command."""

import sys

from velocity.cli import main

sys.exit(main())
