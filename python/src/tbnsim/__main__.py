"""``python -m tbnsim MODULE.py [...]`` runs the @tbnsim.test functions of modules."""

import sys

from .testing import main

sys.exit(main())
