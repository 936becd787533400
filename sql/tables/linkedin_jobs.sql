-- Job postings from the JSearch API (`cdc ingest`). The first block keeps the seed's column names so its
-- documented queries still work; the second adds what the API offers and the seed dropped.
CREATE TABLE linkedin_jobs (
    job_id               TEXT PRIMARY KEY,
    job_title            TEXT,
    company_name         TEXT,
    location             TEXT,
    job_description      TEXT,
    -- Display text as sent ("Full-time"; the legacy shape sent "FULLTIME").
    employment_type      TEXT,
    -- UTC date of posted_at.
    posted_date          DATE,
    -- From job_min_salary / job_max_salary (the seed read job_salary_min, which does not exist).
    salary_min           DECIMAL(12,2),
    salary_max           DECIMAL(12,2),
    -- job_salary_currency in the legacy shape; else derived from country, and only when a salary is given.
    salary_currency      VARCHAR(3),
    -- YEAR, MONTH, WEEK, DAY or HOUR.
    salary_period        TEXT,
    remote_allowed       BOOLEAN,
    application_url      TEXT,
    company_logo_url     TEXT,
    -- The query whose result last inserted or changed this row.
    search_query         TEXT,
    -- The item as received, at its last content change.
    raw_data             JSONB NOT NULL,
    first_seen_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Any change but a sighting (maintained by the linkedin_jobs_touch trigger).
    last_updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    is_active            BOOLEAN NOT NULL DEFAULT true,

    publisher            TEXT,
    company_website      TEXT,
    -- JSON array of FULLTIME, PARTTIME, CONTRACTOR, INTERN.
    employment_types     JSONB,
    city                 TEXT,
    state                TEXT,
    -- ISO-3166 alpha-2.
    country              TEXT,
    latitude             DOUBLE PRECISION,
    longitude            DOUBLE PRECISION,
    posted_at            TIMESTAMPTZ,
    -- The single job_salary figure some postings carry instead of a range.
    salary_amount        DECIMAL(12,2),
    apply_is_direct      BOOLEAN,
    -- JSON array of benefit codes (health_insurance, dental_coverage, …).
    benefits             JSONB,
    -- {"Qualifications": [...], "Benefits": [...], "Responsibilities": [...]}.
    highlights           JSONB,
    google_link          TEXT,
    onet_soc             TEXT,
    onet_job_zone        TEXT,
    -- SHA-256 (hex) of the canonical item without volatile fields (job_posted_at); an equal fingerprint means
    -- an unchanged posting.
    content_fingerprint  TEXT NOT NULL,
    -- The start of the last ingestion run that saw this job.
    last_seen_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The start of the run that last saw its content change (or first saw it).
    last_changed_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX linkedin_jobs_company_name_idx ON linkedin_jobs (company_name);
CREATE INDEX linkedin_jobs_search_query_idx ON linkedin_jobs (search_query);
CREATE INDEX linkedin_jobs_posted_at_idx ON linkedin_jobs (posted_at);
CREATE INDEX linkedin_jobs_last_seen_at_idx ON linkedin_jobs (last_seen_at);
CREATE TRIGGER linkedin_jobs_touch BEFORE UPDATE ON linkedin_jobs
    FOR EACH ROW EXECUTE FUNCTION linkedin_jobs_touch();
ALTER TABLE linkedin_jobs REPLICA IDENTITY FULL;
