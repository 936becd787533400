-- linkedin_jobs.last_updated_at (the seed's column) moves when anything but the sighting time changes: a job
-- that `cdc ingest` only re-saw (same content fingerprint) moves last_seen_at alone.
CREATE FUNCTION linkedin_jobs_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    probe RECORD;
BEGIN
    probe := NEW;
    probe.last_seen_at := OLD.last_seen_at;
    probe.last_updated_at := OLD.last_updated_at;
    IF probe IS DISTINCT FROM OLD THEN
        NEW.last_updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;
