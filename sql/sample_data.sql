-- Sample data for the demo and the tests: 10 customers, 15 products, 5 orders with 11 items, and 15 inventory
-- receipts. `cdc db init` loads it only when customers, products, orders, order_items and
-- inventory_transactions are all empty, and never with --no-sample-data. Rows refer to each other by
-- natural keys (email, sku), never by serial ids.

INSERT INTO customers (first_name, last_name, email, phone, address, city, state, zip_code) VALUES
    ('Ada', 'Lovelace', 'ada.lovelace@example.com', '+1-555-0101', '12 Analytical Way', 'Austin', 'Texas', '73301'),
    ('Alan', 'Turing', 'alan.turing@example.com', '+1-555-0102', '1 Enigma Court', 'Seattle', 'Washington', '98101'),
    ('Grace', 'Hopper', 'grace.hopper@example.com', '+1-555-0103', '55 Compiler Street', 'Arlington', 'Virginia', '22201'),
    ('Edsger', 'Dijkstra', 'edsger.dijkstra@example.com', NULL, '8 Shortest Path', 'Austin', 'Texas', '73344'),
    ('Barbara', 'Liskov', 'barbara.liskov@example.com', '+1-555-0105', '3 Substitution Ave', 'Boston', 'Massachusetts', '02108'),
    ('Donald', 'Knuth', 'donald.knuth@example.com', '+1-555-0106', '256 TeX Lane', 'Palo Alto', 'California', '94301'),
    ('Margaret', 'Hamilton', 'margaret.hamilton@example.com', '+1-555-0107', '11 Apollo Drive', 'Cambridge', 'Massachusetts', '02139'),
    ('Ken', 'Thompson', 'ken.thompson@example.com', '+1-555-0108', '6 Unix Road', 'Murray Hill', 'New Jersey', '07974'),
    ('Frances', 'Allen', 'frances.allen@example.com', NULL, '42 Optimizer Blvd', 'Yorktown Heights', 'New York', '10598'),
    ('José', 'Muñoz', 'jose.munoz@example.com', '+1-555-0110', '9 Calle Ñandú, Apt 2', 'San Antonio', 'Texas', '78205');

INSERT INTO products (sku, product_name, description, category, price, stock_quantity, attributes) VALUES
    ('KB-001', 'Mechanical Keyboard', 'Tenkeyless, brown switches', 'Peripherals', 89.99, 120, '{"layout": "ANSI", "switch": "brown"}'),
    ('MS-002', 'Wireless Mouse', 'Ergonomic, 6 buttons', 'Peripherals', 39.50, 200, '{"dpi": 1600, "buttons": 6}'),
    ('MN-003', '27" 4K Monitor', 'IPS panel, USB-C', 'Displays', 329.00, 45, '{"size_in": 27, "resolution": "3840x2160"}'),
    ('HD-004', 'USB-C Hub', '7-in-1 with HDMI and Ethernet', 'Accessories', 49.99, 150, '{"ports": 7}'),
    ('LP-005', 'Laptop Stand', 'Aluminium, adjustable', 'Accessories', 34.95, 80, NULL),
    ('HS-006', 'Noise-Cancelling Headset', 'Over-ear, Bluetooth 5.3', 'Audio', 199.00, 60, '{"anc": true}'),
    ('WC-007', 'HD Webcam', '1080p, dual microphones', 'Peripherals', 59.00, 90, '{"resolution": "1080p"}'),
    ('SD-008', '1 TB NVMe SSD', 'PCIe 4.0, 7000 MB/s', 'Storage', 109.90, 75, '{"capacity_gb": 1000, "interface": "PCIe 4.0"}'),
    ('CB-009', 'Thunderbolt Cable', '1 m, 40 Gbit/s', 'Accessories', 29.00, 300, '{"length_m": 1}'),
    ('DK-010', 'Standing Desk', 'Electric, 140×70 cm', 'Furniture', 549.00, 15, '{"motors": 2}'),
    ('CH-011', 'Office Chair', 'Mesh back, lumbar support', 'Furniture', 289.00, 25, NULL),
    ('LM-012', 'Desk Lamp', 'LED, dimmable', 'Lighting', 24.99, 140, '{"lumens": 800}'),
    ('PD-013', 'Mouse Pad XL', '90×40 cm, stitched edges', 'Accessories', 14.99, 250, NULL),
    ('SP-014', 'Bookshelf Speakers', 'Pair, 2×30 W', 'Audio', 149.00, 35, '{"watts": 60}'),
    ('UP-015', 'UPS 1500 VA', 'Line-interactive, 8 outlets', 'Power', 219.00, 20, '{"va": 1500}');

INSERT INTO inventory_transactions (product_id, transaction_type, quantity, reference, notes)
SELECT product_id, 'purchase', stock_quantity, 'PO-INITIAL', 'opening stock'
FROM products ORDER BY sku;

WITH items (sku, quantity) AS (VALUES ('KB-001', 1), ('MS-002', 1), ('PD-013', 1)),
priced AS (SELECT p.product_id, i.quantity, p.price FROM items i JOIN products p USING (sku)),
o AS (
    INSERT INTO orders (customer_id, status, total_amount, shipping_address, notes, metadata)
    SELECT c.customer_id, 'delivered', (SELECT sum(quantity * price) FROM priced), c.address,
           'Leave at the front desk', '{"channel": "web", "coupon": null}'
    FROM customers c WHERE c.email = 'ada.lovelace@example.com'
    RETURNING order_id)
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o.order_id, priced.product_id, priced.quantity, priced.price FROM o, priced;

WITH items (sku, quantity) AS (VALUES ('MN-003', 2), ('CB-009', 2)),
priced AS (SELECT p.product_id, i.quantity, p.price FROM items i JOIN products p USING (sku)),
o AS (
    INSERT INTO orders (customer_id, status, total_amount, shipping_address, notes, metadata)
    SELECT c.customer_id, 'shipped', (SELECT sum(quantity * price) FROM priced), c.address,
           NULL, '{"channel": "mobile", "gift": false}'
    FROM customers c WHERE c.email = 'alan.turing@example.com'
    RETURNING order_id)
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o.order_id, priced.product_id, priced.quantity, priced.price FROM o, priced;

WITH items (sku, quantity) AS (VALUES ('DK-010', 1), ('CH-011', 1)),
priced AS (SELECT p.product_id, i.quantity, p.price FROM items i JOIN products p USING (sku)),
o AS (
    INSERT INTO orders (customer_id, status, total_amount, shipping_address, notes, metadata)
    SELECT c.customer_id, 'processing', (SELECT sum(quantity * price) FROM priced), c.address,
           'Deliver between 9:00 and 17:00 — call first', '{"channel": "web", "delivery": "freight"}'
    FROM customers c WHERE c.email = 'grace.hopper@example.com'
    RETURNING order_id)
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o.order_id, priced.product_id, priced.quantity, priced.price FROM o, priced;

WITH items (sku, quantity) AS (VALUES ('HS-006', 1), ('WC-007', 1), ('LM-012', 2)),
priced AS (SELECT p.product_id, i.quantity, p.price FROM items i JOIN products p USING (sku)),
o AS (
    INSERT INTO orders (customer_id, status, total_amount, shipping_address, notes, metadata)
    SELECT c.customer_id, 'pending', (SELECT sum(quantity * price) FROM priced), c.address,
           NULL, '{"channel": "web"}'
    FROM customers c WHERE c.email = 'donald.knuth@example.com'
    RETURNING order_id)
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o.order_id, priced.product_id, priced.quantity, priced.price FROM o, priced;

WITH items (sku, quantity) AS (VALUES ('SD-008', 2)),
priced AS (SELECT p.product_id, i.quantity, p.price FROM items i JOIN products p USING (sku)),
o AS (
    INSERT INTO orders (customer_id, status, total_amount, shipping_address, notes, metadata)
    SELECT c.customer_id, 'cancelled', (SELECT sum(quantity * price) FROM priced), c.address,
           'Customer changed their mind', '{"channel": "phone", "refund": "full"}'
    FROM customers c WHERE c.email = 'jose.munoz@example.com'
    RETURNING order_id)
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o.order_id, priced.product_id, priced.quantity, priced.price FROM o, priced;
