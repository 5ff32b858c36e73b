-- A small B2C web shop's ERP, as a user would bring it: two currencies (EUR, the reporting
-- currency, and USD), no refunds table at all, orders that stop on 2026-06-16, two weeks
-- before the as-of day 2026-06-30, and three bad rows: an order keyed in the year 2099, an
-- order line without updated_at and one whose price is not a number. tests/test_webshop.py
-- loads it into SQLite and checks the radar against the numbers computed by hand there.
create table customers (
    customer_id integer, customer_name text, email text, customer_type text, segment text,
    region text, country text, created_at timestamp, updated_at timestamp
);
insert into customers values
    (1, 'Alice Martin', 'alice@example.org', 'b2c', 'consumer', 'europe', 'FR',
     '2025-01-10 09:00:00', '2025-01-10 09:00:00'),
    (2, 'Bruno Petit', 'bruno@example.org', 'b2c', 'consumer', 'europe', 'FR',
     '2025-02-03 11:30:00', '2025-02-03 11:30:00'),
    (3, 'Carol Hayes', 'carol@example.com', 'b2c', 'consumer', 'americas', 'US',
     '2026-02-20 15:00:00', '2026-02-20 15:00:00'),
    (4, 'Dan Brooks', 'dan@example.com', 'b2c', 'consumer', 'americas', 'US',
     '2026-04-28 18:45:00', '2026-04-28 18:45:00'),
    (5, 'Eva Klein', 'eva@example.org', 'b2c', 'consumer', 'europe', 'DE',
     '2025-02-25 08:15:00', '2025-02-25 08:15:00');

create table products (
    product_id integer, product_name text, category text, list_price numeric,
    updated_at timestamp
);
insert into products values
    (10, 'Tea sampler', 'tea', 25.00, '2025-01-01 00:00:00'),
    (11, 'Teapot', 'kitchen', 50.00, '2025-01-01 00:00:00');

create table orders (
    order_id integer, customer_id integer, order_date date, status text, currency text,
    channel text, created_at timestamp, updated_at timestamp
);
insert into orders values
    (101, 1, '2025-06-20', 'completed', 'EUR', 'web', '2025-06-20 10:00:00', '2025-06-20 10:00:00'),
    (102, 1, '2025-09-10', 'completed', 'EUR', 'web', '2025-09-10 10:00:00', '2025-09-10 10:00:00'),
    (103, 1, '2026-06-16', 'completed', 'EUR', 'web', '2026-06-16 10:00:00', '2026-06-16 10:00:00'),
    (104, 2, '2026-01-15', 'completed', 'EUR', 'web', '2026-01-15 10:00:00', '2026-01-15 10:00:00'),
    (105, 3, '2026-03-06', 'completed', 'USD', 'web', '2026-03-06 10:00:00', '2026-03-06 10:00:00'),
    (106, 3, '2026-03-08', 'completed', 'USD', 'web', '2026-03-08 10:00:00', '2026-03-08 10:00:00'),
    (107, 4, '2026-05-04', 'completed', 'USD', 'web', '2026-05-04 10:00:00', '2026-05-04 10:00:00'),
    (108, 4, '2026-05-05', 'cancelled', 'USD', 'web', '2026-05-05 10:00:00', '2026-05-06 09:00:00'),
    (109, 2, '2026-06-10', 'completed', 'EUR', 'web', '2026-06-10 10:00:00', '2026-06-10 10:00:00'),
    (110, 5, '2025-03-01', 'completed', 'EUR', 'web', '2025-03-01 10:00:00', '2025-03-01 10:00:00'),
    -- keyed with a wrong year: left out of the marts, with a warning, until 2099
    (111, 2, '2099-06-12', 'completed', 'EUR', 'web', '2026-06-12 10:00:00', '2026-06-12 10:00:00');

-- Net revenue of a line: quantity x unit price - discount; tax is apart.
create table order_lines (
    order_line_id integer, order_id integer, product_id integer, quantity integer,
    unit_price numeric, discount_amount numeric, tax_amount numeric, updated_at timestamp
);
insert into order_lines values
    (1001, 101, 11, 2, 50.00, 0.00, 20.00, '2025-06-20 10:00:00'),
    (1002, 102, 11, 4, 50.00, 0.00, 40.00, '2025-09-10 10:00:00'),
    (1003, 103, 10, 2, 25.00, 0.00, 10.00, '2026-06-16 10:00:00'),
    (1004, 104, 11, 1, 50.00, 0.00, 10.00, '2026-01-15 10:00:00'),
    (1005, 104, 10, 1, 30.00, 10.00, 4.00, '2026-01-15 10:00:00'),
    (1006, 105, 10, 4, 27.00, 0.00, 0.00, '2026-03-06 10:00:00'),
    (1007, 106, 11, 4, 54.00, 0.00, 0.00, '2026-03-08 10:00:00'),
    (1008, 107, 11, 2, 62.50, 0.00, 0.00, '2026-05-04 10:00:00'),
    (1009, 108, 11, 8, 62.50, 0.00, 0.00, '2026-05-05 10:00:00'),
    (1010, 109, 10, 1, 30.00, 0.00, 6.00, '2026-06-10 10:00:00'),
    (1011, 110, 11, 6, 50.00, 0.00, 60.00, '2025-03-01 10:00:00'),
    (1012, 111, 11, 20, 50.00, 0.00, 200.00, '2026-06-12 10:00:00'),
    -- bad rows: quarantined with their reason, never counted
    (1013, 109, 10, 1, 20.00, 0.00, 4.00, null),
    (1014, 103, 10, 1, 'twenty', 0.00, 4.00, '2026-06-16 10:00:00');

-- Euro reference rates (units of USD for one EUR), business days only.
create table exchange_rates (
    rate_date date, base_currency text, currency text, rate numeric, updated_at timestamp
);
insert into exchange_rates values
    ('2026-03-05', 'EUR', 'USD', 1.07, '2026-03-05 16:00:00'),
    ('2026-03-06', 'EUR', 'USD', 1.08, '2026-03-06 16:00:00'),
    ('2026-03-09', 'EUR', 'USD', 1.09, '2026-03-09 16:00:00'),
    ('2026-05-04', 'EUR', 'USD', 1.25, '2026-05-04 16:00:00'),
    ('2026-05-05', 'EUR', 'USD', 1.26, '2026-05-05 16:00:00');
