"""Start the web app: `python app.py` (sync the corpus folder, then serve the chat)."""

import sys

from assistant.cli import app

if __name__ == "__main__":
    sys.exit(app(["serve", *sys.argv[1:]]))
