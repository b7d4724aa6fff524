"""Drives a running stack over HTTP, as a partner's system or a coordinator would."""

import asyncio
import copy
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import httpx

from contracts.examples import EXAMPLE_DATA

T = TypeVar("T")


def event(event_type: str, person: str, *, data: dict | None = None, time: datetime | None = None, **extra) -> dict:
    """A CloudEvent body as a partner system posts it (principal and category left to the gateway)."""
    return {
        "specversion": "1.0",
        "id": extra.pop("id", str(uuid.uuid4())),
        "source": "/test/journal",
        "type": event_type,
        "subject": person,
        "time": (time or datetime.now(UTC)).isoformat(),
        "datacontenttype": "application/json",
        "data": copy.deepcopy(data if data is not None else EXAMPLE_DATA[event_type]),
        **extra,
    }


class StackClient:
    def __init__(self, info: dict) -> None:
        self.info = info
        self.http = httpx.AsyncClient(timeout=30)

    def _auth(self, principal: str, role: str) -> dict:
        return {"Authorization": f"Bearer {self.info['tokens'][principal][role]}"}

    def url(self, service: str, path: str) -> str:
        return self.info["services"][service] + path

    async def post_event(self, principal: str, body: dict | bytes, role: str = "system") -> httpx.Response:
        kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
        return await self.http.post(self.url(principal, "/v1/events"), headers=self._auth(principal, role), **kwargs)

    async def post_events(self, principal: str, bodies: list[dict], role: str = "system") -> httpx.Response:
        """POST /v1/events:batch with `bodies` as its events."""
        return await self.http.post(
            self.url(principal, "/v1/events:batch"), json={"events": bodies}, headers=self._auth(principal, role)
        )

    async def inbox(self, principal: str, after: int = 0, limit: int = 1000) -> dict:
        response = await self.http.get(
            self.url(principal, "/v1/inbox"),
            params={"after": after, "limit": limit},
            headers=self._auth(principal, "system"),
        )
        response.raise_for_status()
        return response.json()

    async def inbox_ids(self, principal: str) -> list[str]:
        """Every event id in the principal's inbox, page by page."""
        ids, cursor = [], 0
        while page := (await self.inbox(principal, after=cursor))["events"]:
            ids += [item["event"]["id"] for item in page]
            cursor = page[-1]["seq"]
        return ids

    async def inbox_items(self, principal: str) -> list[dict]:
        """Every item in the principal's inbox, page by page."""
        items, cursor = [], 0
        while page := (await self.inbox(principal, after=cursor))["events"]:
            items += page
            cursor = page[-1]["seq"]
        return items

    async def ack(self, principal: str, event_id: str, body: dict | None = None, role: str = "system"):
        return await self.http.post(
            self.url(principal, f"/v1/inbox/{event_id}/ack"), json=body, headers=self._auth(principal, role)
        )

    async def get(self, service: str, path: str, principal: str, role: str = "system", **params):
        return await self.http.get(self.url(service, path), params=params, headers=self._auth(principal, role))

    async def grant(self, principal: str, person: str, parties: list[str], **fields: Any) -> dict:
        body = {
            "person": person,
            "parties": parties,
            "valid_from": date.today().isoformat(),
            "form": "written",
            **fields,
        }
        response = await self.http.post(
            self.url("consent", "/v1/consents"), json=body, headers=self._auth(principal, "coordinator")
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def deliver(self, sender: str, recipient: str, event_type: str, person: str) -> dict:
        """An event of `sender` about `person`, under a new consent naming both, accepted and then
        awaited in `recipient`'s inbox; the event's body."""
        await self.grant(sender, person, [sender, recipient])
        body = event(event_type, person)
        response = await self.post_event(sender, body)
        assert response.status_code == 202, response.text
        inbox = await eventually(lambda: self.inbox_ids(recipient), lambda ids: body["id"] in ids)
        assert body["id"] in inbox, f"{body['id']} not in {recipient}'s inbox"
        return body

    async def revoke(self, principal: str, consent_id: str) -> httpx.Response:
        return await self.http.post(
            self.url("consent", f"/v1/consents/{consent_id}/revoke"), headers=self._auth(principal, "coordinator")
        )

    async def audit(self, principal: str, person: str) -> list[dict]:
        response = await self.http.post(
            self.url("consent", "/v1/audit/search"),
            json={"person": person},
            headers=self._auth(principal, "coordinator"),
        )
        response.raise_for_status()
        return response.json()["entries"]

    async def board(self, principal: str) -> dict:
        response = await self.http.get(self.url("board", "/v1/board"), headers=self._auth(principal, "coordinator"))
        response.raise_for_status()
        return response.json()

    async def close(self) -> None:
        await self.http.aclose()


async def eventually(probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], timeout: float = 30) -> T:
    """Poll `probe` until `until(result)`; the last result if time runs out (the assert then shows it)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if until(result) or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)
