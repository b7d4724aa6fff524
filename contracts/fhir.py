"""What every Samordna FHIR R4 endpoint names the same way: HL7 Sweden's identifier systems for
a person and an HSA-id, Samordna's own code systems, and the subscription topics of the gateways
(one for every event the principal receives, one per category, one per event type).

docs/integration.md#fhir describes the profile choices.
"""

from contracts.catalogue import CATALOGUE, Category
from contracts.person import is_coordination_number, normalize_person_id

PERSONNUMMER = "http://electronichealth.se/identifier/personnummer"
SAMORDNINGSNUMMER = "http://electronichealth.se/identifier/samordningsnummer"
HSA_ID = "urn:oid:1.2.752.29.4.19"

SAMORDNA = "https://samordna.se/fhir"
PRINCIPAL = f"{SAMORDNA}/identifier/principal"
CATEGORY = f"{SAMORDNA}/CodeSystem/event-category"
EVENT_TYPE = f"{SAMORDNA}/CodeSystem/event-type"

TOPIC_ALL = f"{SAMORDNA}/SubscriptionTopic/events"
TOPIC_CATEGORY = f"{SAMORDNA}/SubscriptionTopic/category/"
TOPIC_TYPE = f"{SAMORDNA}/SubscriptionTopic/type/"
_SHARED = [c for c in Category if c is not Category.CONSENT]


def person_identifier(person_id: str) -> dict:
    """The person as a FHIR Identifier in HL7 Sweden's systems (12 digits, no dash)."""
    system = SAMORDNINGSNUMMER if is_coordination_number(person_id) else PERSONNUMMER
    return {"system": system, "value": normalize_person_id(person_id)}


def person_from_token(token: str) -> str:
    """The person named by a FHIR token `system|value` in HL7 Sweden's systems. The ValueError
    says what is wrong without repeating the value."""
    system, bar, value = token.partition("|")
    if not bar or system not in (PERSONNUMMER, SAMORDNINGSNUMMER):
        raise ValueError(f"expects {PERSONNUMMER}|<12 digits> or {SAMORDNINGSNUMMER}|<12 digits>")
    try:
        person = normalize_person_id(value)
    except ValueError:
        raise ValueError("not a valid personnummer or samordningsnummer") from None
    if (system == SAMORDNINGSNUMMER) != is_coordination_number(person):
        raise ValueError("the number does not belong to the system named")
    return person


def topics() -> list[str]:
    """Every subscription topic a gateway offers."""
    return [TOPIC_ALL, *(TOPIC_CATEGORY + c.value for c in _SHARED), *(TOPIC_TYPE + t for t in sorted(CATALOGUE))]


def topic_event_types(topic: str) -> list[str]:
    """The event types a topic stands for; [] for every type. ValueError for an unknown topic."""
    if topic == TOPIC_ALL:
        return []
    if topic.startswith(TOPIC_CATEGORY):
        category = topic.removeprefix(TOPIC_CATEGORY)
        types = sorted(t for t, spec in CATALOGUE.items() if spec.category == category)
        if category in {c.value for c in _SHARED} and types:
            return types
    if topic.startswith(TOPIC_TYPE) and topic.removeprefix(TOPIC_TYPE) in CATALOGUE:
        return [topic.removeprefix(TOPIC_TYPE)]
    raise ValueError(f"not a topic of this gateway; the topics start with {SAMORDNA}/SubscriptionTopic/")
