CREATE TABLE IF NOT EXISTS consents (
    id                   uuid PRIMARY KEY,
    person_id            text NOT NULL,
    person_pseudonym     text NOT NULL,
    parties              text[] NOT NULL,
    categories           text[] NOT NULL,
    excluded_categories  text[] NOT NULL DEFAULT '{}',
    excluded_types       text[] NOT NULL DEFAULT '{}',
    valid_from           timestamptz NOT NULL,
    valid_until          timestamptz NOT NULL,
    form                 text NOT NULL,
    recorded_by          text,
    recorded_by_principal text NOT NULL,
    recorded_at          timestamptz NOT NULL DEFAULT now(),
    revoked_at           timestamptz,
    revoked_by_principal text,
    CHECK (valid_until > valid_from)
);
CREATE INDEX IF NOT EXISTS consents_by_person ON consents (person_pseudonym);

-- Every gate decision, filled from the gate.decisions topic. Never the payload.
CREATE TABLE IF NOT EXISTS audit (
    seq              bigserial UNIQUE,
    decision_id      uuid PRIMARY KEY,
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    category         text NOT NULL,
    sender           text NOT NULL,
    recipient        text,
    person_pseudonym text NOT NULL,
    forwarded        boolean NOT NULL,
    reason           text NOT NULL,
    basis            text NOT NULL,
    consent_id       uuid,
    legal_reference  text,
    event_time       timestamptz NOT NULL,
    decided_at       timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_by_person ON audit (person_pseudonym, decided_at);
CREATE INDEX IF NOT EXISTS audit_by_event ON audit (event_id);
