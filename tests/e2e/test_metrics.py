"""Every service exposes Prometheus metrics, with no personal data; ops reads the dashboard's numbers."""

import httpx

from tests.support.client import event, eventually

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


async def test_every_service_exposes_metrics_without_personal_data(client, person):
    body = await client.deliver(REGION, ALINGSAS, VISIT_MISSED, person)

    async with httpx.AsyncClient(timeout=10) as http:
        pages = {name: (await http.get(f"{url}/metrics")) for name, url in client.info["services"].items()}

    assert all(page.status_code == 200 for page in pages.values())
    assert 'samordna_events_accepted_total{principal="region-14"}' in pages[REGION].text
    assert 'samordna_gate_decisions_total{forwarded="true",reason="consent",recipient="kommun-1489"' in (
        pages["consent"].text
    )
    assert "samordna_inbox_delivered_total" in pages[ALINGSAS].text
    for page in pages.values():
        assert person.replace("-", "") not in page.text and body["id"] not in page.text


async def test_ops_sees_per_service_numbers_and_consumer_lag(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.post_event(REGION, event(VISIT_MISSED, person))

    async def ops():
        return (await client.get("board", "/v1/ops", "ops", "ops")).json()

    summary = await eventually(
        ops,
        # the gate's group has offsets once its first transaction committed; the scan sees them a moment later
        lambda s: (
            s["services"].get(REGION, {}).get("samordna_events_accepted", 0) > 0
            and "samordna-gate" in s["consumer_lag"]
        ),
    )

    assert all(service["up"] for service in summary["services"].values())
    assert set(summary["services"]) == set(client.info["services"])
    assert "samordna-gate" in summary["consumer_lag"]  # a coordinator's 403: tests/unit/test_board_api.py
