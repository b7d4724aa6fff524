-- Events that passed the gate, once each. The board's rows are folded from them.
CREATE TABLE IF NOT EXISTS events (
    sender           text NOT NULL,
    event_id         text NOT NULL,
    person_pseudonym text NOT NULL,
    person_id        text NOT NULL,
    event_type       text NOT NULL,
    event_time       timestamptz NOT NULL,
    parties          text[] NOT NULL,
    data             jsonb NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sender, event_id)
);
CREATE INDEX IF NOT EXISTS events_by_person ON events (person_pseudonym, event_time);

-- Who may see a person on the board: every principal an event about the person crossed between.
CREATE TABLE IF NOT EXISTS persons (
    person_pseudonym text PRIMARY KEY,
    person_id        text NOT NULL,
    visible_to       text[] NOT NULL,
    first_seen_at    timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Consents revoked: the board forgets the person, and drops late events that crossed on them.
CREATE TABLE IF NOT EXISTS revoked_consents (
    consent_id       uuid PRIMARY KEY,
    person_pseudonym text NOT NULL,
    revoked_at       timestamptz NOT NULL
);
