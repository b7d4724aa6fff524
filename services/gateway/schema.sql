-- Events accepted from this principal's own systems; the relay publishes them in seq order.
SELECT create_outbox_table('outbox', 'accepted_at', 'body_sha256 text NOT NULL');

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

-- Delivery numbers and receipts (kvittens). Added after the first release, hence ALTER.
-- delivery_seq: the gate's number for this recipient (header samordna-delivery-seq).
-- receipt_due_at: set for events that need action; the deadline of the recipient's receipt.
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS delivery_seq bigint;
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS receipt_due_at timestamptz;
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS acknowledged_at timestamptz;
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS overdue_reported_at timestamptz;
CREATE INDEX IF NOT EXISTS inbox_by_event_id ON inbox (event_id);
CREATE INDEX IF NOT EXISTS inbox_receipts_due ON inbox (receipt_due_at)
    WHERE acknowledged_at IS NULL AND overdue_reported_at IS NULL;
-- the inbox page's overdue events, reported or not (PgInbox.latest)
CREATE INDEX IF NOT EXISTS inbox_unacknowledged_due ON inbox (receipt_due_at) WHERE acknowledged_at IS NULL;

-- Records of this principal's topics (events.<p>, deliveries.<p>) that a consumer could not
-- decode or validate, collected from dead.letters so that the principal can see and replay them.
CREATE TABLE IF NOT EXISTS dead_letters (
    id               bigserial PRIMARY KEY,
    origin_topic     text NOT NULL,
    origin_partition integer NOT NULL,
    origin_offset    bigint NOT NULL,
    consumer         text NOT NULL,
    reason           text NOT NULL,
    kafka_key        text,
    value            text NOT NULL,
    failed_at        timestamptz NOT NULL,
    replayed_at      timestamptz,
    UNIQUE (origin_topic, origin_partition, origin_offset, consumer)
);
