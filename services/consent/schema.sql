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
-- why the person revoked, in the words of whoever recorded it (optional)
ALTER TABLE consents ADD COLUMN IF NOT EXISTS revocation_reason text;

-- The history of every consent — granted, revoked, expiring, expired — and the outbox that
-- publishes it to consent.changes. Nothing in a row changes but published_at.
SELECT create_outbox_table(
    'consent_events', 'occurred_at', 'consent_id uuid NOT NULL REFERENCES consents (id), kind text NOT NULL'
);
CREATE INDEX IF NOT EXISTS consent_events_by_consent ON consent_events (consent_id, seq);

-- The last delivery sequence number given to each recipient. The gate takes the next numbers
-- in the transaction that holds its consent locks, so a number is used only if the Kafka
-- transaction carrying it commits: a recipient's numbers have no gaps.
CREATE TABLE IF NOT EXISTS delivery_sequences (
    recipient text PRIMARY KEY,
    last_seq  bigint NOT NULL
);

-- How far each gate group has decided each events partition: the offset of the next record to
-- decide. A batch locks its partitions' rows before it reads a consent and skips the records
-- another gate has decided already, and the row moves on in the transaction that holds the
-- consent locks, committed after the Kafka transaction. Kafka's group offsets alone cannot say
-- so during a hand-over: the gate that takes a partition over may read the offsets from before
-- a transaction that has just committed (aiokafka cannot ask for stable offsets, KIP-447), and
-- would decide that batch a second time (docs/operations.md, "Gate replicas").
CREATE TABLE IF NOT EXISTS gate_progress (
    group_id    text NOT NULL,
    topic       text NOT NULL,
    partition   int NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);

-- Every gate decision, filled from the gate.decisions topic. Never the payload.
-- Append-only (trigger below, and the service's role may only insert) and tamper-evident:
-- row_hash = HMAC-SHA-256(audit key, prev_hash || the row's content), with a key the database
-- does not hold (chain_version 2), so an edit breaks the chain from there on and cannot be
-- recomputed; rows from before the key have chain_version 1, plain SHA-256 (docs/audit.md).
CREATE TABLE IF NOT EXISTS audit (
    seq              bigint PRIMARY KEY,
    decision_id      uuid NOT NULL UNIQUE,
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
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    prev_hash        text NOT NULL,
    row_hash         text NOT NULL,
    chain_version    smallint NOT NULL DEFAULT 2
);
-- A table from before the keyed chain: its rows stay as they were hashed (version 1), new ones are 2.
ALTER TABLE audit ADD COLUMN IF NOT EXISTS chain_version smallint NOT NULL DEFAULT 1;
ALTER TABLE audit ALTER COLUMN chain_version SET DEFAULT 2;
CREATE INDEX IF NOT EXISTS audit_by_person ON audit (person_pseudonym, decided_at);
CREATE INDEX IF NOT EXISTS audit_by_event ON audit (event_id);

CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;
CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The role the service's queries run as: it may add to the audit, never change it.
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'samordna_consent_app') THEN
        CREATE ROLE samordna_consent_app NOLOGIN;
    END IF;
END $$;
DO $$ BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO samordna_consent_app', current_schema());
END $$;
GRANT SELECT, INSERT, UPDATE ON consents TO samordna_consent_app;
GRANT SELECT, INSERT ON audit TO samordna_consent_app;
GRANT SELECT, INSERT, UPDATE ON delivery_sequences TO samordna_consent_app;
GRANT SELECT, INSERT, UPDATE ON gate_progress TO samordna_consent_app;
GRANT SELECT, INSERT, UPDATE ON consent_events TO samordna_consent_app;
GRANT USAGE ON SEQUENCE consent_events_seq_seq TO samordna_consent_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM samordna_consent_app;

-- The keys that hold what Samordna's Kafka topics keep about a person for the board
-- (crypto-shredding, docs/privacy.md): one per consent, and one per person and statutory basis.
-- Every sealed record on shared.events and consent.changes opens only with a key that holds it;
-- deleting a key erases, in every copy of those topics, what no other key holds. `erase_after`
-- is set when a consent is revoked or expires (a statutory basis's key: when no consent of the
-- person is in force), and the key is deleted once it has passed (lifecycle.watch_expiries).
CREATE TABLE IF NOT EXISTS erasure_keys (
    kid              text PRIMARY KEY,
    person_pseudonym text NOT NULL,
    consent_id       uuid UNIQUE,
    legal_reference  text,
    key              bytea NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    erase_after      timestamptz,
    CHECK ((consent_id IS NULL) <> (legal_reference IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS erasure_keys_statutory_in_use
    ON erasure_keys (person_pseudonym, legal_reference) WHERE consent_id IS NULL AND erase_after IS NULL;
CREATE INDEX IF NOT EXISTS erasure_keys_due ON erasure_keys (erase_after) WHERE erase_after IS NOT NULL;
GRANT SELECT, INSERT, UPDATE, DELETE ON erasure_keys TO samordna_consent_app;

-- Erasure from the topics that hold persons in the clear (services/consent/log_erasure.py). A
-- row in log_erasure_due says that keys were erased since the last pass: everything the clear
-- topics hold up to their present end must go (`erasures` counts them, so that a pass removes
-- the row only if no erasure came after it read it). The pass turns it into one frontier per partition
-- (delete every record before `before_offset`), and drops a frontier once the partition's log
-- starts at or after it; until then, each pass deletes what every reader has already taken.
CREATE TABLE IF NOT EXISTS log_erasure_due (
    due      boolean PRIMARY KEY DEFAULT true CHECK (due),
    erasures bigint NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS log_erasure_frontier (
    topic         text NOT NULL,
    partition     integer NOT NULL CHECK (partition >= 0),
    before_offset bigint NOT NULL CHECK (before_offset > 0),
    PRIMARY KEY (topic, partition)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON log_erasure_due, log_erasure_frontier TO samordna_consent_app;
