"""The board's JSON API over ASGI with the in-memory store: who may call what, the parameters
refused, a person not on the caller's board as problem details, and the statistics' CSV."""

from collections.abc import AsyncIterator

import httpx
import pytest

from services.board.api_models import Board
from tests.unit.fakes_board import (
    ALINGSAS,
    LERUM,
    REGION,
    SEEDED_PERSON,
    FakeOps,
    InMemoryBoardStore,
    board_app,
    seeded_store,
    served,
)

SAMPLE = "se.samordna.region.sample.positive.v1"
VISIT = "se.samordna.region.visit.missed.v1"
PERSON = SEEDED_PERSON
C1 = "00000000-0000-0000-0000-000000000001"
PROBLEM = "application/problem+json"


@pytest.fixture
async def store() -> InMemoryBoardStore:
    return await seeded_store()


@pytest.fixture
async def api(store) -> AsyncIterator[httpx.AsyncClient]:
    app = board_app(
        store, FakeOps({"services": {"consent": {"up": True}}, "consumer_lag": {}, "sampled_seconds_ago": 1.0})
    )
    async with served(app) as c:
        yield c


def as_(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_the_board_shows_the_shared_person_with_the_alert_and_its_filters_find_it(api):
    board = (await api.get("/v1/board", headers=as_("alingsas"))).json()
    with_alert = await api.get("/v1/board", params={"alert": "positive_sample"}, headers=as_("alingsas"))
    other_alert = await api.get("/v1/board", params={"alert": "missed_visit"}, headers=as_("alingsas"))
    by_party = await api.get("/v1/board", params={"party": LERUM}, headers=as_("alingsas"))

    [row] = board["rows"]
    Board.model_validate(board)  # the route serialises its rows itself: they keep the documented shape
    assert [a["label"] for a in row["alerts"]] == ["Positivt prov"]
    assert row["parties"] == [ALINGSAS, REGION] and PERSON not in row["handle"]
    assert len(with_alert.json()["rows"]) == 1 and other_alert.json()["rows"] == []
    assert by_party.json()["rows"] == []
    assert (await api.get("/v1/board", headers=as_("lerum"))).json()["rows"] == []


@pytest.mark.parametrize(("params", "field"), [({"alert": "no_such_alert"}, "alert"), ({"sort": "age"}, "sort")])
async def test_an_unknown_filter_or_sort_is_refused_as_problem_details(api, params, field):
    response = await api.get("/v1/board", params=params, headers=as_("alingsas"))

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [f"query.{field}"]


@pytest.mark.parametrize(
    "path", ["/v1/board", "/v1/board/persons/x", "/v1/statistics", "/v1/statistics.csv", "/v1/ops"]
)
async def test_every_route_wants_a_known_bearer_token(api, path):
    missing = await api.get(path)
    unknown = await api.get(path, headers=as_("no-such-token"))

    assert missing.status_code == unknown.status_code == 401
    assert missing.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("path", "token"),
    [("/v1/board", "ops"), ("/v1/board", "system"), ("/v1/statistics", "system"), ("/v1/ops", "region")],
)
async def test_each_route_serves_its_roles_only(api, path, token):
    response = await api.get(path, headers=as_(token))

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM


async def test_a_persons_timeline_is_reached_by_handle_only_where_the_person_is_shared(api):
    [row] = (await api.get("/v1/board", headers=as_("region"))).json()["rows"]

    mine = await api.get(f"/v1/board/persons/{row['handle']}", headers=as_("region"))
    theirs = await api.get(f"/v1/board/persons/{row['handle']}", headers=as_("lerum"))

    assert [e["label"] for e in mine.json()["timeline"]] == ["Positivt prov"]
    assert theirs.status_code == 404
    assert theirs.headers["content-type"] == PROBLEM
    assert theirs.json() == {
        "type": "https://samordna.se/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "no such person on your board",
        "errors": [{"field": "handle", "message": "no such person on your board"}],
    }


async def test_ops_sees_the_statistics_of_the_whole_area_and_a_coordinator_those_of_its_principal(api):
    ops = (await api.get("/v1/statistics", headers=as_("ops"))).json()
    region = (await api.get("/v1/statistics", headers=as_("region"))).json()

    assert ops["scope"] == "all" and region["scope"] == REGION
    assert PERSON not in str(ops)


async def test_the_statistics_csv_is_a_spreadsheets_table_with_the_reports_numbers(api):
    report = (await api.get("/v1/statistics", headers=as_("alingsas"))).json()
    csv = await api.get("/v1/statistics.csv", headers=as_("alingsas"))

    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"] == 'attachment; filename="samordna-statistik.csv"'
    lines = csv.text.splitlines()
    assert lines[0] == "avsnitt,grupp,månad,antal"
    assert [line.rsplit(",", 1)[1] for line in lines[1:13]] == [str(m["persons"]) for m in report["persons_per_month"]]
    assert PERSON not in csv.text


@pytest.mark.parametrize("persons", [1, 3, 8])
async def test_no_count_from_one_to_four_is_ever_shown(persons):
    app = board_app(await seeded_store(persons))
    async with served(app) as c:
        stats = (await c.get("/v1/statistics", headers=as_("alingsas"))).json()

    counts = [m["persons"] for m in stats["persons_per_month"]]
    counts += [r["count"] for r in stats["age_bands"] + stats["referral_sources"]]
    counts += [e["events"] for e in stats["events_per_type_per_month"]]
    assert all(n == 0 or n >= 5 for n in counts)
    if persons >= 7:  # shown with a noise of at most two
        assert persons - 2 <= stats["persons_per_month"][-1]["persons"] <= persons + 2


async def test_ops_reads_the_monitors_numbers(api):
    response = await api.get("/v1/ops", headers=as_("ops"))

    assert response.json()["services"] == {"consent": {"up": True}}


async def test_readiness_asks_the_store(api):
    assert (await api.get("/readyz")).json() == {"ready": True, "checks": {"postgres": True, "kafka": True}}


async def test_the_statistics_of_a_period_and_a_period_that_is_not_one_refused_naming_the_field(api):
    report = (await api.get("/v1/statistics", params={"from": "2026-06", "to": "2026-08"}, headers=as_("ops"))).json()
    csv = await api.get("/v1/statistics.csv", params={"from": "2026-06", "to": "2026-08"}, headers=as_("ops"))
    future = await api.get("/v1/statistics", params={"to": "2027-01"}, headers=as_("ops"))
    garbled = await api.get("/v1/statistics.csv", params={"from": "juni"}, headers=as_("ops"))

    assert report["period"] == {"from": "2026-06", "to": "2026-08", "as_of": "2026-08-31"}
    assert [m["month"] for m in report["persons_per_month"]] == ["2026-06", "2026-07", "2026-08"]
    assert [line.split(",")[2] for line in csv.text.splitlines()[1:4]] == ["2026-06", "2026-07", "2026-08"]
    assert future.status_code == garbled.status_code == 422
    assert future.headers["content-type"] == PROBLEM
    assert [e["field"] for e in future.json()["errors"]] == ["to"]
    assert [e["field"] for e in garbled.json()["errors"]] == ["from"]
