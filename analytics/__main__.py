"""`python -m analytics`: the process entry point of the command line, and the one place it
reads the clock (every command below gets `today` and `now` passed in)."""

import datetime as dt
import os
import sys

from analytics.cli.main import main

# Health records: every file this process creates (a database, its WAL, an export, a report)
# can be read by its owner only.
os.umask(0o077)
sys.exit(main(today=dt.date.today(), now=dt.datetime.now(dt.UTC).replace(tzinfo=None)))
