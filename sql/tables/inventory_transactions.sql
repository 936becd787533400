CREATE TABLE inventory_transactions (
    transaction_id    SERIAL PRIMARY KEY,
    product_id        INTEGER NOT NULL REFERENCES products (product_id),
    transaction_type  VARCHAR(20) NOT NULL
                      CHECK (transaction_type IN ('purchase', 'sale', 'return', 'adjustment')),
    -- Signed: positive adds stock, negative removes it.
    quantity          INTEGER NOT NULL,
    reference         VARCHAR(100),
    notes             TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX inventory_transactions_product_id_idx ON inventory_transactions (product_id);
CREATE TRIGGER inventory_transactions_set_updated_at BEFORE UPDATE ON inventory_transactions
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION cdc_set_updated_at();
ALTER TABLE inventory_transactions REPLICA IDENTITY FULL;
