-- Events accepted from this principal's own systems; the relay publishes them in seq order.
CREATE TABLE IF NOT EXISTS outbox (
    seq          bigserial PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,
    body_sha256  text NOT NULL,
    event        text NOT NULL,
    kafka_key    text NOT NULL,
    accepted_at  timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

-- Events delivered to this principal. seq is gapless: a gap means something is missing.
CREATE TABLE IF NOT EXISTS inbox (
    seq          bigint PRIMARY KEY,
    event_id     text NOT NULL,
    sender       text NOT NULL,
    event_type   text NOT NULL,
    event        text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sender, event_id)
);
