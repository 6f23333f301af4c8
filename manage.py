#!/usr/bin/env python
"""Django's manage.py; `rapport` is the friendlier front door."""

import sys

from rapport.cli import main

if __name__ == "__main__":
    sys.exit(main(["manage", *sys.argv[1:]]))
