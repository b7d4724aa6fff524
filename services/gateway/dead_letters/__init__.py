"""Dead letters of this principal's topics: collected, listed, and replayed once fixed.

Any consumer that cannot decode or validate a record of `events.<principal>` (say, a malformed
record from the principal's own Kafka-speaking system) or `deliveries.<principal>` puts it on
`dead.letters.<principal>` with the reason and its origin; only this principal's gateway reads
that topic, and keeps the letters so the principal's staff can see them through the API. Once
the cause is fixed — the sending system, or a consumer that refused too much — replay puts an
event back on `events.<principal>` with its original key, and a delivery straight into the
inbox (the gateway may not write its deliveries topic: only the gate does), and marks it
replayed:

    python -m services.gateway.dead_letters --principal kommun-1489 list
    python -m services.gateway.dead_letters --principal kommun-1489 replay --all
    python -m services.gateway.dead_letters --principal kommun-1489 replay --id 3 --id 7

The command reads the gateway's settings (SAMORDNA_DATABASE_URL, SAMORDNA_KAFKA_* …) like the
gateway does, and connects through the gateway's bootstrap.

    store.py      the dead_letters table: stored, listed, marked replayed
    collector.py  the consumer of dead.letters.<principal>
    replay.py     putting letters back where they came from
    __main__.py   the command above
"""
