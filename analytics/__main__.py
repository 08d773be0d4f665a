"""`python -m analytics`: the process entry point of the command line, and the one place it
reads the clock (every command below gets `today` and `now` passed in)."""

import datetime as dt
import sys

from analytics.cli.main import main

sys.exit(main(today=dt.date.today(), now=dt.datetime.now(dt.UTC).replace(tzinfo=None)))
