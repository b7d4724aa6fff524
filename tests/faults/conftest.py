"""Fault tests: the broker stopped, the database restarted, services killed with SIGKILL.

Each test starts from, and leaves behind, a healthy stack: broker and database running and
every service process alive and ready (restarted if a test killed it or it died).
"""

import asyncio

import pytest

from tests.support.faults import heal


@pytest.fixture(autouse=True)
async def healthy_stack(running_stack):
    await asyncio.to_thread(heal, running_stack)
    yield running_stack
    await asyncio.to_thread(heal, running_stack)
