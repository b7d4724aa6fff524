"""Fault tests: the broker stopped, the database restarted, services killed with SIGKILL.

Each test starts from, and leaves behind, a healthy stack: broker and database running and
every service process alive and ready (restarted if a test killed it or it died).
"""

import asyncio

import pytest

from tests.support.client import StackClient
from tests.support.faults import heal
from tests.support.personnummer import random_person_id


@pytest.fixture(scope="session")
async def client(running_stack) -> StackClient:
    client = StackClient(running_stack.stack_info())
    yield client
    await client.close()


@pytest.fixture
def person() -> str:
    return random_person_id()


@pytest.fixture(autouse=True)
async def healthy_stack(running_stack):
    await asyncio.to_thread(heal, running_stack)
    yield running_stack
    await asyncio.to_thread(heal, running_stack)
