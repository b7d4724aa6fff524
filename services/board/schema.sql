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
-- when the gate let the event cross: a revocation forgets what crossed before it, whatever order
-- the board reads its topics in (a rebuild reads them one after the other)
ALTER TABLE events ADD COLUMN IF NOT EXISTS decided_at timestamptz;

-- the consents that hold the event (issue 19): it is forgotten once every one of them has ended;
-- NULL on rows from before, which a revocation or expiry of the person forgets as it always did
ALTER TABLE events ADD COLUMN IF NOT EXISTS consent_ids text[];

-- Who may see a person is decided by the consents below (this table did it before).
DROP TABLE IF EXISTS persons;

-- Consents ended — revoked, or expired (issue 19) — with when: the board forgets what only they
-- held, and drops late events that crossed on them.
CREATE TABLE IF NOT EXISTS revoked_consents (
    consent_id       uuid PRIMARY KEY,
    person_pseudonym text NOT NULL,
    revoked_at       timestamptz NOT NULL
);

-- The consents the board knows of, from consent.changes: who may see a person, and when the
-- consent ends. A revoked consent is deleted together with everything the board held.
CREATE TABLE IF NOT EXISTS consents (
    consent_id       uuid PRIMARY KEY,
    person_pseudonym text NOT NULL,
    person_id        text NOT NULL,
    parties          text[] NOT NULL,
    valid_from       timestamptz NOT NULL,
    valid_until      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS consents_by_person ON consents (person_pseudonym);

-- a late event is checked against the person's revocations (store._forgotten)
CREATE INDEX IF NOT EXISTS revoked_consents_by_person ON revoked_consents (person_pseudonym, revoked_at);

-- A person's version, moved (from one sequence, never reused: a rebuild empties the table, not the
-- sequence) in the transaction of every change the store applies to the person: a reader may keep
-- what it read or folded of a person for as long as the version stays (store.persons_visible_to,
-- views.RowCache), so that a board of thousands of persons is not read and folded again per request.
CREATE SEQUENCE IF NOT EXISTS person_version_seq;
CREATE TABLE IF NOT EXISTS person_versions (
    person_pseudonym text PRIMARY KEY,
    version          bigint NOT NULL
);
