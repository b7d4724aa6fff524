"""Webhooks: the principal's inbox pushed to the HTTP endpoints its systems subscribe.

Each subscription has its own cursor over the inbox's gapless `seq`: new inbox rows of the
types it asked for are queued as its deliveries, and each due delivery is POSTed, signed with
the subscription's secret (contracts/webhooks.py). Delivery is at least once — a gateway that
dies between the receiver's 2xx and recording it sends again — so receivers de-duplicate by
event id. A failed delivery is retried with exponential backoff and jitter for a window from
its first attempt, then parked until someone resends it.

Every subscription is served by its own task with its own HTTP clients (one connection per
slot), a bounded number of requests in flight and a timeout, so an endpoint that hangs or fails
holds up only itself. New inbox rows wake the task at once (the inbox writer's NOTIFY); it polls
too, for retries that come due and a notification that was missed.
Rows are claimed with FOR UPDATE SKIP LOCKED and a lease, so gateway replicas share the work
instead of sending twice. Logs name the subscription, the inbox seq and the event id only:
never the subject (a personnummer), the endpoint's URL (it may hold credentials) or a response.

    policy.py         when a failed delivery is tried again, or parked (pure)
    subscriptions.py  the subscriptions store: create, list, get, delete
    queue.py          the deliveries: queued from the inbox, claimed, recorded, listed, resent
    sending.py        one signed POST to an endpoint, and why it failed
    dispatcher.py     one task per subscription, sending what is due
    wakeup.py         the inbox writer's notifications, heard by the dispatcher
    schema.sql        the tables (after the gateway's schema.sql: they read the inbox)
"""
