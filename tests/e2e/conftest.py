import pytest

from tests.support.client import StackClient
from tests.support.personnummer import random_person_id


@pytest.fixture(scope="session")
async def client(running_stack) -> StackClient:
    client = StackClient(running_stack.stack_info())
    yield client
    await client.close()


@pytest.fixture
def person() -> str:
    return random_person_id()
