"""Store errors are told apart by exception type, not by words in a message."""

from __future__ import annotations

import httpx
import pytest

from assistant.store.chroma import Store, StoreUnavailable, is_transport_error
from tests.conftest import settings_for
from tests.helpers import free_port


def test_a_chroma_server_that_is_not_there_is_store_unavailable_with_its_address(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailable, match=f"Chroma server {url}"):
        Store(settings_for(tmp_path, chroma_url=url))


def test_only_transport_failures_count_as_the_store_being_unavailable():
    try:
        try:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        except httpx.ConnectError:
            raise ValueError("Could not connect to a Chroma server. Are you sure it is running?")  # noqa: B904
    except ValueError as wrapped:  # what chromadb's HttpClient raises
        assert is_transport_error(wrapped)
    assert is_transport_error(httpx.ReadTimeout("timed out")) and is_transport_error(ConnectionResetError())
    # Words alone prove nothing: a bad value that talks about connections is not an outage.
    assert not is_transport_error(ValueError("connection string refused: remote timeout unreachable"))
    assert not is_transport_error(KeyError("connect"))
