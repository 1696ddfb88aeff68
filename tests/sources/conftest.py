"""Fixtures of the connector tests: the module's demo site (``server``, tests/conftest.py) without faults."""

from __future__ import annotations

import pytest


@pytest.fixture()
def demo(server):
    """The module's demo site, its injected faults cleared before and after the test."""
    server.clear_faults()
    yield server
    server.clear_faults()
