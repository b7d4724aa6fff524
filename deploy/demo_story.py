"""The demo's four storyline persons, who follow the routines of the source documents
(docs/sources.md): a LARO start with a SIP and deviations (Alingsås), a ward discharge (Lerum),
a person who excluded test results, and one who has not consented. Loaded by deploy/demo.py
before the rest of the area; fixed event ids, existing consents kept.
"""

import sys
from datetime import UTC, date, datetime, time, timedelta

import httpx

from contracts.principals import municipality, region
from deploy.layout import described_kommunkoder, described_lanskod

# the described region and its first two municipalities: Alingsås and Lerum in deploy/principals.json,
# Örebro and Lekeberg in deploy/principals-orebro.json (SAMORDNA_PRINCIPALS)
REGION = region(described_lanskod())
ALINGSAS, LERUM = (municipality(code) for code in described_kommunkoder()[:2])
ANNA, BERTIL, CECILIA, DAVID = "19840307-2377", "19711123-4188", "19950602-8522", "19620130-1196"


def _day(offset: int, hour: int = 10) -> str:
    return datetime.combine(date.today() + timedelta(days=offset), time(hour), tzinfo=UTC).isoformat()


def _date(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


CONSENTS = [
    (REGION, ANNA, {"parties": [REGION, ALINGSAS]}),
    (LERUM, BERTIL, {"parties": [REGION, LERUM]}),
    (ALINGSAS, CECILIA, {"parties": [REGION, ALINGSAS], "excluded_categories": ["test_results"]}),
]

# (sender, person, type suffix, days from today, data)
JOURNEYS = [
    (
        REGION,
        ANNA,
        "joint.contact.opened",
        -58,
        {"unit": "Socialmedicinsk mottagning Alingsås", "opened_on": _date(-58), "referral_source": "self"},
    ),
    (REGION, ANNA, "region.treatment.conference_decided", -50, {"outcome": "accepted", "decided_on": _date(-50)}),
    (
        REGION,
        ANNA,
        "region.treatment.started",
        -45,
        {
            "treatment_id": "laro-117",
            "treatment_kind": "laro",
            "started_on": _date(-45),
            "goal": "Stabil LARO-behandling och eget boende",
        },
    ),
    (ALINGSAS, ANNA, "joint.sip.requested", -44, {"meeting_at": _day(-40, 13), "location": "Mottagningen, Alingsås"}),
    (
        REGION,
        ANNA,
        "joint.sip.plan_updated",
        -40,
        {
            "goals": ["Drogfrihet", "Eget boende"],
            "next_follow_up": _date(50),
            "responsibilities": [
                {"party": REGION, "task": "LARO och provtagning"},
                {"party": ALINGSAS, "task": "Boendestöd"},
            ],
        },
    ),
    (
        ALINGSAS,
        ANNA,
        "municipality.intervention.decided",
        -38,
        {
            "intervention_id": "ins-4410",
            "intervention_kind": "boendestod",
            "decided_on": _date(-38),
            "starts_on": _date(-35),
            "ends_on": _date(145),
        },
    ),
    (REGION, ANNA, "region.visit.missed", -6, {"unit": "LARO-mottagningen Alingsås", "planned_at": _day(-6, 9)}),
    (
        REGION,
        ANNA,
        "region.sample.positive",
        -3,
        {"sample_type": "urine", "substances": ["amfetamin"], "sampled_at": _day(-3, 8)},
    ),
    (
        ALINGSAS,
        ANNA,
        "joint.careplanning.requested",
        -2,
        {"reason": "Uteblivet besök och positivt prov", "requested_on": _date(-2)},
    ),
    (REGION, BERTIL, "region.admission.notified", -5, {"ward": "Avd 32 Beroende", "admitted_at": _day(-5, 22)}),
    (REGION, BERTIL, "region.discharge.planned", -1, {"ward": "Avd 32 Beroende", "expected_date": _date(4)}),
    (
        LERUM,
        BERTIL,
        "municipality.intervention.ending",
        -1,
        {"intervention_id": "ins-88", "intervention_kind": "sysselsattning", "ends_on": _date(20)},
    ),
    (REGION, CECILIA, "region.assessment.recorded", -4, {"instrument": "AUDIT", "score": 19, "assessed_on": _date(-4)}),
    (
        REGION,
        CECILIA,
        "region.visit.missed",
        -2,
        {"unit": "Psykiatrimottagningen Alingsås", "planned_at": _day(-2, 14)},
    ),
    (REGION, DAVID, "region.visit.missed", -1, {"unit": "Vårdcentralen Lerum", "planned_at": _day(-1, 11)}),
]


async def load(http: httpx.AsyncClient, stack: dict) -> None:
    for principal, person, fields in CONSENTS:
        await _ensure_consent(http, stack, principal, person, fields)
    for n, (sender, person, suffix, days, data) in enumerate(JOURNEYS):
        body = {
            "specversion": "1.0",
            "id": f"demo-{n:03d}",
            "source": f"/{sender}/demo",
            "type": f"se.samordna.{suffix}.v1",
            "subject": person,
            "time": _day(days),
            "data": data,
        }
        response = await http.post(
            f"{stack['services'][sender]}/v1/events", json=body, headers=_auth(stack, sender, "system")
        )
        if response.status_code not in (202, 409):  # 409: loaded on an earlier day
            sys.exit(f"demo event {body['id']} refused: {response.status_code} {response.text}")


async def _ensure_consent(http: httpx.AsyncClient, stack: dict, principal: str, person: str, fields: dict) -> None:
    consent_url = stack["services"]["consent"] + "/v1/consents"
    headers = _auth(stack, principal, "coordinator")
    existing = (await http.post(f"{consent_url}/search", json={"person": person}, headers=headers)).json()["consents"]
    if any(c["status"] == "active" for c in existing):
        return
    body = {"person": person, "valid_from": _date(-60), "form": "written", "recorded_by": "demo", **fields}
    (await http.post(consent_url, json=body, headers=headers)).raise_for_status()


def _auth(stack: dict, principal: str, role: str) -> dict:
    return {"Authorization": f"Bearer {stack['tokens'][principal][role]}"}
