CREATE TABLE customers (
    customer_id  SERIAL PRIMARY KEY,
    first_name   VARCHAR(100) NOT NULL,
    last_name    VARCHAR(100) NOT NULL,
    email        VARCHAR(255) NOT NULL UNIQUE,
    phone        VARCHAR(50),
    address      TEXT,
    city         VARCHAR(100),
    state        VARCHAR(100),
    zip_code     VARCHAR(20),
    country      VARCHAR(100) NOT NULL DEFAULT 'United States',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER customers_set_updated_at BEFORE UPDATE ON customers
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION cdc_set_updated_at();
ALTER TABLE customers REPLICA IDENTITY FULL;
