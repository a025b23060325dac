"""`python -m http402`."""

import sys

from ._cli import main

sys.exit(main())
