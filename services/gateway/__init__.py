"""A principal's gateway: the one implementation every region and municipality runs.

It takes the principal's own events into an outbox (published to `events.<principal>`),
keeps what the gate delivers in a gapless inbox, sends receipts, pushes the inbox to webhooks
and keeps the dead letters of the principal's topics. `services/region/` and
`services/municipality/` only configure it (which principal, which port) and run it.

    app.py            the HTTP app and how each domain error is answered
    bootstrap.py      the typed dependencies, connected and stopped (deps.py: as routes declare them)
    api.py            events, inbox, acknowledgements, dead letters
    subscriptions_api.py  webhook subscriptions and their deliveries
    intake.py outbox.py inbox.py receipts/ webhooks/ dead_letters/   the service layer
"""
