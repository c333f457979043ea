"""Shared test setup: offline by default, and where the shared data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from redis_support import REDIS_MISSING, REDIS_SERVER, RedisServer

# Tests must never reach a model hub (and cannot here): fail fast instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("REWARD_AGENT_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """../shared/data (or $REWARD_AGENT_DATA). Its absence is an error, not a skip."""
    assert DATA.is_dir(), f"shared data not found at {DATA}; set REWARD_AGENT_DATA"
    return DATA


@pytest.fixture
def redis_server(tmp_path: Path):
    """A real redis-server of its own on a free loopback port (skips only when the binary is missing)."""
    if REDIS_SERVER is None:
        pytest.skip(REDIS_MISSING)
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
