-- The one definition of a transactional outbox table (services/runtime/outbox.py publishes it):
-- rows in seq order, each an event with its Kafka key, its time and, once the broker has
-- acknowledged it, published_at. A service's schema calls it with the name, the time column
-- and its own extra columns.
CREATE OR REPLACE FUNCTION create_outbox_table(table_name text, age_column text, extra_columns text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I ('
        '    seq          bigserial PRIMARY KEY,'
        '    event_id     text NOT NULL UNIQUE,'
        '    event        text NOT NULL,'
        '    kafka_key    text NOT NULL,'
        '    %I           timestamptz NOT NULL DEFAULT now(),'
        '    published_at timestamptz,'
        '    %s'
        ')',
        table_name, age_column, extra_columns
    );
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS %I ON %I (seq) WHERE published_at IS NULL',
        table_name || '_unpublished', table_name
    );
END $$;
