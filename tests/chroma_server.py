"""Start a Chroma server on 127.0.0.1 (`chroma run`) for tests, and stop it.

`python -m tests.chroma_server pytest ARGS…` runs pytest with ASSISTANT_TEST_CHROMA_URL
pointing at a fresh server, so the store, retrieval and app tests run in server mode.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.helpers import free_port


class ChromaServer:
    def __init__(self, path: Path | None = None, port: int | None = None):
        self.path = Path(path or tempfile.mkdtemp(prefix="chroma-server-"))
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "ChromaServer":
        chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
        self.proc = subprocess.Popen(
            [chroma, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/v2/heartbeat", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("the Chroma server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    with ChromaServer() as server:
        print(f"Chroma server at {server.url}", flush=True)
        env = {**os.environ, "ASSISTANT_TEST_CHROMA_URL": server.url}
        code = subprocess.call([sys.executable, "-m", *sys.argv[1:]], env=env)
    sys.exit(code)
