"""The board's API on the real stack: events that crossed the gate showing up with their alerts, in
the filters, the timeline and the statistics. What needs no stack (auth, roles, parameters refused,
404 as problem details, the CSV's shape, small counts suppressed) is in tests/unit/test_board_api.py."""

from tests.support.client import event, eventually

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"


def rows_of(board: dict, event_ids_or_patient: str) -> list[dict]:
    return [r for r in board["rows"] if r["patient"].replace("-", "") == event_ids_or_patient.replace("-", "")]


async def test_a_positive_sample_shows_as_an_alert_and_filters_find_it(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.post_event(REGION, event(SAMPLE_POSITIVE, person))

    board = await eventually(lambda: client.board(ALINGSAS), lambda b: rows_of(b, person))

    [row] = rows_of(board, person)
    assert [a["label"] for a in row["alerts"]] == ["Positivt prov"]
    with_alert = await client.get("board", "/v1/board", ALINGSAS, "coordinator", alert="positive_sample")
    other_alert = await client.get("board", "/v1/board", ALINGSAS, "coordinator", alert="missed_visit")
    assert rows_of(with_alert.json(), person) and not rows_of(other_alert.json(), person)
    by_party = await client.get("board", "/v1/board", ALINGSAS, "coordinator", party=LERUM)
    assert not rows_of(by_party.json(), person)


async def test_a_persons_timeline_is_reached_by_handle(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.post_event(REGION, event(SAMPLE_POSITIVE, person))
    board = await eventually(lambda: client.board(REGION), lambda b: rows_of(b, person))
    [row] = rows_of(board, person)

    mine = await client.get("board", f"/v1/board/persons/{row['handle']}", REGION, "coordinator")

    assert mine.status_code == 200
    assert [e["label"] for e in mine.json()["timeline"]] == ["Positivt prov"]
    assert person.replace("-", "") not in row["handle"]


async def test_ops_sees_statistics_but_never_a_person(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.post_event(REGION, event(SAMPLE_POSITIVE, person))
    await eventually(lambda: client.board(REGION), lambda b: rows_of(b, person))

    stats = await client.get("board", "/v1/statistics", "ops", "ops")
    csv = await client.get("board", "/v1/statistics.csv", "ops", "ops")

    assert stats.status_code == 200 and stats.json()["scope"] == "all"
    assert person.replace("-", "") not in stats.text and person not in csv.text
