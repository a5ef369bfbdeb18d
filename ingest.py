"""Sync the guidance documents into Chroma: `python ingest.py [PATH ...] [--rebuild] [--dry-run]`."""

import sys

from assistant.cli import app

if __name__ == "__main__":
    sys.exit(app(["ingest", *sys.argv[1:]]))
