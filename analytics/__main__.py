"""`python -m analytics` runs the command-line interface."""

import sys

from analytics.cli import main

sys.exit(main())
