-- Webhook subscriptions of this principal's own systems. last_seq is the subscription's cursor
-- over inbox.seq: inbox rows up to it have been looked at (and queued if they matched).
-- The secret is kept as given because every delivery is signed with it; the API never returns it.
CREATE TABLE IF NOT EXISTS webhook_subscriptions (
    id          uuid PRIMARY KEY,
    url         text NOT NULL,
    secret      text NOT NULL,
    event_types text[] NOT NULL DEFAULT '{}',  -- empty: every type
    last_seq    bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per (subscription, inbox row) to deliver. The event itself stays in the inbox only.
-- A claimed row's next_attempt_at is pushed past the request timeout (a lease), so that a
-- second gateway replica does not send it too; a replica that dies leaves it due again later.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    subscription_id  uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    seq              bigint NOT NULL,  -- inbox.seq
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'parked')),
    attempts         integer NOT NULL DEFAULT 0,
    first_attempt_at timestamptz,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,  -- "HTTP 503", "timeout after 10 s", ...: never the response body
    delivered_at     timestamptz,
    PRIMARY KEY (subscription_id, seq)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (subscription_id, next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_status ON webhook_deliveries (status, subscription_id);

-- The subscription's own gapless event numbers (FHIR's events-since-subscription-start):
-- every delivery is numbered when it is queued. Added after the first release, hence ALTER.
ALTER TABLE webhook_subscriptions ADD COLUMN IF NOT EXISTS events_queued bigint NOT NULL DEFAULT 0;
ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS event_number bigint;
CREATE UNIQUE INDEX IF NOT EXISTS webhook_deliveries_by_number ON webhook_deliveries (subscription_id, event_number);
-- What a subscription's deliveries are: Samordna's own webhook body, or FHIR notification bundles.
ALTER TABLE webhook_subscriptions ADD COLUMN IF NOT EXISTS format text NOT NULL DEFAULT 'webhook'
    CHECK (format IN ('webhook', 'fhir'));
-- A subscription's pending deliveries in seq order: the claims' `ORDER BY seq` and the in-order
-- claim's first pending one, without walking the deliveries already made.
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending ON webhook_deliveries (subscription_id, seq)
    WHERE status = 'pending';
