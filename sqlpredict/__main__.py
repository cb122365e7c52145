"""`python -m sqlpredict`: the same command line as the `sqlpredict` script."""

import sys

from .cli import main

sys.exit(main())
