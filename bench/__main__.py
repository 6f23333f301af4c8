"""`python -m bench` is `rapport bench`: see bench/runner.py."""

import sys

from bench.runner import main

sys.exit(main())
