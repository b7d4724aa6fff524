"""One valid `data` per event type: for the docs, the demo and the tests."""

EXAMPLE_DATA: dict[str, dict] = {
    "se.samordna.region.visit.missed.v1": {
        "unit": "SE2321000131-E000000011111",
        "planned_at": "2026-11-20T09:30:00+01:00",
        "visit_kind": "LARO-besök",
    },
    "se.samordna.region.sample.positive.v1": {
        "sample_type": "urine",
        "substances": ["amfetamin"],
        "sampled_at": "2026-11-19T08:15:00+01:00",
    },
    "se.samordna.region.admission.notified.v1": {"ward": "Avd 32 Beroende", "admitted_at": "2026-11-18T22:05:00+01:00"},
    "se.samordna.region.discharge.planned.v1": {"ward": "Avd 32 Beroende", "expected_date": "2026-11-28"},
    "se.samordna.region.discharge.ready.v1": {"ward": "Avd 32 Beroende", "ready_at": "2026-11-27T10:00:00+01:00"},
    "se.samordna.region.discharge.completed.v1": {
        "discharged_from": "ward",
        "unit": "Avd 32 Beroende",
        "completed_on": "2026-11-28",
    },
    "se.samordna.region.treatment.started.v1": {
        "treatment_id": "laro-2026-117",
        "treatment_kind": "laro",
        "started_on": "2026-09-01",
        "goal": "Stabil substitutionsbehandling och eget boende",
    },
    "se.samordna.region.treatment.ended.v1": {"treatment_id": "laro-2026-117", "ended_on": "2026-12-01"},
    "se.samordna.region.treatment.conference_decided.v1": {"outcome": "accepted", "decided_on": "2026-08-20"},
    "se.samordna.region.treatment.discharge_group_referral.v1": {
        "referred_on": "2026-11-15",
        "reason": "Upprepade avsteg från behandlingsplanen",
    },
    "se.samordna.region.assessment.recorded.v1": {"instrument": "AUDIT", "score": 21, "assessed_on": "2026-09-03"},
    "se.samordna.municipality.intervention.missed.v1": {
        "intervention_id": "ins-4411",
        "intervention_kind": "behandling",
        "missed_on": "2026-11-18",
    },
    "se.samordna.municipality.intervention.decided.v1": {
        "intervention_id": "ins-4410",
        "intervention_kind": "boendestod",
        "decided_on": "2026-09-10",
        "starts_on": "2026-09-15",
        "ends_on": "2027-03-15",
    },
    "se.samordna.municipality.intervention.ending.v1": {
        "intervention_id": "ins-4410",
        "intervention_kind": "boendestod",
        "ends_on": "2027-03-15",
    },
    "se.samordna.municipality.intervention.ended.v1": {
        "intervention_id": "ins-4410",
        "intervention_kind": "boendestod",
        "ended_on": "2027-03-15",
    },
    "se.samordna.joint.sip.requested.v1": {
        "meeting_at": "2026-12-02T13:00:00+01:00",
        "location": "Mottagningen, Alingsås",
        "reason": "Planerad utskrivning",
    },
    "se.samordna.joint.sip.plan_updated.v1": {
        "goals": ["Drogfrihet", "Eget boende"],
        "responsibilities": [
            {"party": "region-14", "task": "LARO-behandling och provtagning"},
            {"party": "kommun-1489", "task": "Boendestöd"},
        ],
        "next_follow_up": "2027-02-15",
    },
    "se.samordna.joint.careplanning.requested.v1": {
        "reason": "Två uteblivna besök och positivt prov",
        "requested_on": "2026-11-20",
    },
    "se.samordna.joint.selfrating.recorded.v1": {
        "ratings": {"boende": 4, "hälsa": 6, "droger": 3},
        "rated_on": "2026-11-01",
    },
    "se.samordna.joint.contact.opened.v1": {
        "unit": "Socialmedicinsk mottagning Alingsås",
        "opened_on": "2026-08-01",
        "referral_source": "self",
    },
    "se.samordna.joint.contact.closed.v1": {"unit": "Socialmedicinsk mottagning Alingsås", "closed_on": "2027-06-30"},
    **{
        f"se.samordna.consent.{name}.v1": {
            "consent_id": "6f1c1a2e-3d6b-4c3e-9a57-2f8f7c1d0b11",
            "parties": ["region-14", "kommun-1489"],
            "valid_from": "2026-11-22T00:00:00+01:00",
            "valid_until": "2027-11-22T00:00:00+01:00",
        }
        for name in ("granted", "revoked", "expiring", "expired")
    },
    "se.samordna.receipt.acknowledged.v1": {
        "addressee": "region-14",
        "event_id": "dp-2026-0042",
        "event_type": "se.samordna.region.discharge.planned.v1",
        "acknowledged_at": "2026-11-22T09:30:00+01:00",
    },
    "se.samordna.receipt.overdue.v1": {
        "addressee": "region-14",
        "event_id": "dp-2026-0042",
        "event_type": "se.samordna.region.discharge.planned.v1",
        "received_at": "2026-11-21T09:30:00+01:00",
        "deadline": "2026-11-22T09:30:00+01:00",
    },
}
