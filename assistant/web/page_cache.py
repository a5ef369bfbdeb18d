"""Bounds for the /read/ pages (issue 24 item 7): rendering the largest regulation is seconds of
CPU, and 16 clients reading it pushed other buyers' answers to 2.4-10.5 s.

- `PageCache`: rendered pages by (document content hash, section, quote, language), least
  recently used out first, bounded by bytes as well as entries. The content hash is of the
  file itself, so a replaced document is never served from an old page.
- `ClientSlots`: renders one client may have running at once; more are refused (429) rather
  than queued, so one client cannot hold every worker thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager

# 64 pages or 64 MB: the largest shipped statute renders to about 1.5 MB of HTML, so the cache
# holds every document at a few quotes each, and its memory stays small beside the app's.
MAX_PAGES = 64
MAX_BYTES = 64 * 1024 * 1024
# Two renders at once per client: a reader opening two sources side by side is served, a
# script opening dozens is not.
RENDERS_PER_CLIENT = 2


class PageCache:
    def __init__(self, *, max_pages: int = MAX_PAGES, max_bytes: int = MAX_BYTES):
        self.max_pages = max_pages
        self.max_bytes = max_bytes
        self._pages: OrderedDict[tuple, str] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> str | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: tuple, page: str) -> None:
        size = len(page.encode("utf-8"))
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= len(old.encode("utf-8"))
            self._pages[key] = page
            self._bytes += size
            while len(self._pages) > self.max_pages or self._bytes > self.max_bytes:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= len(dropped.encode("utf-8"))


class TooManyRenders(Exception):
    """This client already has its share of renders running."""


class ClientSlots:
    MAX_CLIENTS = 10_000  # the table never grows past this (a flood of addresses)

    def __init__(self, per_client: int = RENDERS_PER_CLIENT):
        self.per_client = per_client
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, client: str):
        with self._lock:
            running = self._running.get(client, 0)
            if running >= self.per_client or (running == 0 and len(self._running) >= self.MAX_CLIENTS):
                raise TooManyRenders(client)
            self._running[client] = running + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._running.get(client, 1) - 1
                if left:
                    self._running[client] = left
                else:
                    self._running.pop(client, None)
