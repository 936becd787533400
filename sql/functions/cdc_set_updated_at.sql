-- Keeps updated_at current on every UPDATE that changes the row (the trigger's WHEN clause skips no-op updates).
CREATE FUNCTION cdc_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
