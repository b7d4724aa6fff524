-- FHIR subscriptions (services/gateway/fhir/): a webhook subscription whose deliveries are
-- FHIR notification bundles. The row in webhook_subscriptions keeps the endpoint, the secret,
-- the event types of the topic and the cursor; the queue, retries and parking are the webhooks'.
CREATE TABLE IF NOT EXISTS fhir_subscriptions (
    id                uuid PRIMARY KEY REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    topic             text NOT NULL,
    content           text NOT NULL CHECK (content IN ('empty', 'id-only', 'full-resource')),
    headers           text[] NOT NULL DEFAULT '{}',  -- sent with every notification, never logged
    heartbeat_seconds integer,
    status            text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'active', 'error', 'off')),
    error             text,  -- why the handshake failed, in words without personal data
    reason            text NOT NULL,
    end_at            timestamptz
);
