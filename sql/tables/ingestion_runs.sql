-- Audit of `cdc ingest`: one row per query per run. Not published: it describes the pipeline, not the data.
CREATE TABLE ingestion_runs (
    run_id           BIGSERIAL PRIMARY KEY,
    started_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ,
    status           TEXT NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'succeeded', 'completed_with_errors', 'failed', 'interrupted')),
    -- 'api' for JSearch requests, 'files' for `cdc ingest --from-dir`.
    source           TEXT NOT NULL CHECK (source IN ('api', 'files')),
    search_query     TEXT NOT NULL,
    location         TEXT,
    pages_fetched    INTEGER NOT NULL DEFAULT 0,
    -- HTTP requests sent, retries included (counted against the monthly budget).
    requests         INTEGER NOT NULL DEFAULT 0,
    jobs_seen        INTEGER NOT NULL DEFAULT 0,
    jobs_new         INTEGER NOT NULL DEFAULT 0,
    jobs_changed     INTEGER NOT NULL DEFAULT 0,
    jobs_unchanged   INTEGER NOT NULL DEFAULT 0,
    items_skipped    INTEGER NOT NULL DEFAULT 0,
    error_count      INTEGER NOT NULL DEFAULT 0,
    -- JSON array of the first error messages (never a secret).
    errors           JSONB NOT NULL DEFAULT '[]',
    -- x-ratelimit-requests-remaining as last reported by RapidAPI.
    quota_remaining  BIGINT
);
CREATE INDEX ingestion_runs_started_at_idx ON ingestion_runs (started_at);
