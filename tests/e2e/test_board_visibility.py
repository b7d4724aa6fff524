"""Issue 17's board cases on the real stack: every board surface shows a principal only the events
it sent or the gate forwarded to it — the row, its alerts and parties, the timeline, the web page
and the statistics — and a consent recorded late reveals nothing that crossed before it."""

import re
import uuid

import httpx
import pytest

from tests.support.client import StackClient, event, eventually
from tests.support.web_session import COOKIE, staff_session

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
INTERVENTION_DECIDED = "se.samordna.municipality.intervention.decided.v1"
SAMPLES = 7  # enough that a leaked count could not hide under the statistics' noise (7 is shown as 5–9)


def row_of(board: dict, person: str) -> dict | None:
    return next((r for r in board["rows"] if r["patient"].replace("-", "") == person.replace("-", "")), None)


async def timeline(client: StackClient, principal: str, handle: str) -> list[dict]:
    response = await client.get("board", f"/v1/board/persons/{handle}", principal, "coordinator")
    assert response.status_code == 200, response.text
    return response.json()["timeline"]


async def statistics_cell(client: StackClient, principal: str, event_type: str) -> int:
    """This month's shown count of `event_type` in the principal's statistics (a left-out cell is 0)."""
    response = await client.get("board", "/v1/statistics", principal, "coordinator")
    stats = response.json()
    month = stats["persons_per_month"][-1]["month"]
    cells = [
        e["events"] for e in stats["events_per_type_per_month"] if (e["month"], e["event_type"]) == (month, event_type)
    ]
    return cells[0] if cells else 0


async def web_page(client: StackClient, principal: str, path: str) -> str:
    """The page as the principal's coordinator sees it, signed in."""
    key = await staff_session(client.info, principal)
    async with httpx.AsyncClient(base_url=client.url("board", ""), timeout=30, cookies={COOKIE: key}) as browser:
        page = await browser.get(path)
        assert page.status_code == 200, page.text
        return page.text


async def post_all(client: StackClient, principal: str, bodies: list[dict]) -> None:
    for body in bodies:
        response = await client.post_event(principal, body)
        assert response.status_code == 202, response.text


@pytest.fixture
async def sample_statistics(client) -> dict[str, int]:
    """Each municipality's sample count before the test, so the test sees whether it moved."""
    return {p: await statistics_cell(client, p, SAMPLE_POSITIVE) for p in (ALINGSAS, LERUM)}


async def test_a_sample_the_person_excluded_for_lerum_shows_nowhere_on_lerums_board(client, person, sample_statistics):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.grant(REGION, person, [REGION, LERUM], excluded_categories=["test_results"])
    samples = [event(SAMPLE_POSITIVE, person) for _ in range(SAMPLES)]
    visit = event(VISIT_MISSED, person)
    await post_all(client, REGION, [*samples, visit])

    lerum = await eventually(lambda: client.board(LERUM), lambda b: row_of(b, person) is not None)
    alingsas = await eventually(
        lambda: client.board(ALINGSAS),
        lambda b: (
            (r := row_of(b, person)) is not None and {a["event_id"] for a in r["alerts"]} >= {s["id"] for s in samples}
        ),
    )
    await eventually(
        lambda: statistics_cell(client, ALINGSAS, SAMPLE_POSITIVE), lambda n: n != sample_statistics[ALINGSAS]
    )

    row = row_of(lerum, person)
    assert [a["kind"] for a in row["alerts"]] == ["missed_visit"]
    assert [a["event_id"] for a in row["alerts"]] == [visit["id"]]
    assert row["parties"] == [LERUM, REGION], "Lerum is not told that Alingsås shares the person"
    assert "prov" not in (row["current"] or "").lower()
    assert [e["type"] for e in await timeline(client, LERUM, row["handle"])] == [VISIT_MISSED]
    page = await web_page(client, LERUM, f"/person/{row['handle']}")
    board_page = await web_page(client, LERUM, "/")
    assert "Positivt prov" not in page and "Uteblivet besök" in page
    board_row = board_page.split(f'data-handle="{row["handle"]}"')[1].split("</tr>")[0]
    assert "Positivt prov" not in board_row and "Uteblivet besök" in board_row
    assert await statistics_cell(client, LERUM, SAMPLE_POSITIVE) == sample_statistics[LERUM]

    alingsas_row = row_of(alingsas, person)
    assert {a["kind"] for a in alingsas_row["alerts"]} == {"positive_sample", "missed_visit"}
    assert alingsas_row["parties"] == [ALINGSAS, REGION]
    region_row = row_of(await client.board(REGION), person)
    assert region_row["parties"] == [LERUM, ALINGSAS, REGION], "the sender knows where its events went"
    assert len(await timeline(client, ALINGSAS, alingsas_row["handle"])) == SAMPLES + 1


async def test_a_consent_recorded_late_reveals_nothing_that_crossed_before_it(client, person, sample_statistics):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    earlier = [event(SAMPLE_POSITIVE, person) for _ in range(SAMPLES)]
    await post_all(client, REGION, earlier)
    intervention = event(INTERVENTION_DECIDED, person)
    await post_all(client, ALINGSAS, [intervention])
    await eventually(
        lambda: client.board(REGION), lambda b: (r := row_of(b, person)) is not None and len(r["ongoing"]) == 1
    )

    await client.grant(LERUM, person, [REGION, LERUM])  # Lerum's coordinator records a consent of its own
    later = event(VISIT_MISSED, person, id=f"later-{uuid.uuid4()}")
    await post_all(client, REGION, [later])
    lerum = await eventually(lambda: client.board(LERUM), lambda b: row_of(b, person) is not None)
    await eventually(
        lambda: client.board(ALINGSAS), lambda b: (r := row_of(b, person)) is not None and "Uteblivet" in r["current"]
    )

    row = row_of(lerum, person)
    assert [e["type"] for e in await timeline(client, LERUM, row["handle"])] == [VISIT_MISSED]
    assert [a["event_id"] for a in row["alerts"]] == [later["id"]]
    assert row["ongoing"] == [] and row["parties"] == [LERUM, REGION]
    page = await web_page(client, LERUM, f"/person/{row['handle']}")
    assert "Positivt prov" not in page and "Beslut om insats" not in page
    assert await statistics_cell(client, LERUM, SAMPLE_POSITIVE) == sample_statistics[LERUM]
    alingsas = row_of(await client.board(ALINGSAS), person)
    assert alingsas["parties"] == [ALINGSAS, REGION], "the later visit went to Lerum too: Alingsås is not told"
    assert len(await timeline(client, ALINGSAS, alingsas["handle"])) == SAMPLES + 2


async def test_a_person_shared_with_others_only_is_not_on_the_board(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.grant(REGION, person, [REGION, LERUM], excluded_categories=["test_results"])
    sample = event(SAMPLE_POSITIVE, person)
    await post_all(client, REGION, [sample])
    await eventually(lambda: client.board(ALINGSAS), lambda b: row_of(b, person) is not None)

    assert row_of(await client.board(LERUM), person) is None, "a row of nothing would say something was withheld"


async def test_the_statistics_page_and_its_chart_show_the_reports_numbers_and_none_from_one_to_four(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await post_all(client, REGION, [event(VISIT_MISSED, person)])
    await eventually(lambda: client.board(ALINGSAS), lambda b: row_of(b, person) is not None)

    report = (await client.get("board", "/v1/statistics", ALINGSAS, "coordinator")).json()
    page = await web_page(client, ALINGSAS, "/statistik")
    csv = (await client.get("board", "/v1/statistics.csv", ALINGSAS, "coordinator")).text

    chart = re.search(r'<svg [^>]*id="diagram-personer".*?</svg>', page, re.S)  # the persons-per-month chart
    bars = re.findall(r'<rect [^>]*data-value="(\d+)"', chart.group()) if chart else []
    months = [m["persons"] for m in report["persons_per_month"]]
    assert bars == [str(n) for n in months if n]  # a month of none draws no bar
    table = re.findall(r"<td>(\d+)</td>", page)
    assert table and all(int(n) == 0 or int(n) >= 5 for n in table)
    assert [line.rsplit(",", 1)[1] for line in csv.splitlines()[1:13]] == [str(n) for n in months]
    assert person not in page and person.replace("-", "") not in page
