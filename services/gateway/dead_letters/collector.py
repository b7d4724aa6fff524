"""The consumer of dead.letters.<principal>: every letter kept in the gateway's table."""

from faststream.kafka import KafkaBroker

from contracts import DeadLetter
from contracts.topics import dead_letters_group, dead_letters_topic
from services.gateway.dead_letters.store import PgDeadLetters
from services.runtime.consuming import batch_consumer, from_value


def subscribe_dead_letter_collector(broker: KafkaBroker, letters: PgDeadLetters, principal: str) -> None:
    group_id = dead_letters_group(principal)
    topic = dead_letters_topic(principal)
    batch_consumer(broker, topic, group_id, from_value(DeadLetter.model_validate_json), letters.store)
