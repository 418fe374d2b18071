"""`python -m zenlearn` → the CLI."""

import sys

from zenlearn.cli.main import main

sys.exit(main())
