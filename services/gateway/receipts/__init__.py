"""Receipts (kvittens): the recipient acknowledges a delivered event, and the gateway tells
the sender — as an event through the gate, like any other. An event that needs action and is
not acknowledged by its deadline makes the gateway report it overdue, the same way.

Both are stored in the outbox in the same transaction that marks the inbox item, so a
receipt is sent once the acknowledgement is committed, and is never sent twice.

    decisions.py  pure: an event's deadline, which items are overdue, the receipt events
    store.py      the SQL around them: acknowledge, report what is overdue, and the watch loop
"""
