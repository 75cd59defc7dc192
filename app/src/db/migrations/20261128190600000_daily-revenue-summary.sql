-- Up Migration

-- Revenue per restaurant and business day, over completed orders. The day is the date in the
-- restaurant's own timezone: DATE(created_at) would take the refreshing session's TimeZone (UTC on
-- RDS) and file a Bangkok dinner after 17:00 UTC under the next day. Money stays in cents
-- (hundredths of restaurants.currency): total_revenue is a bigint sum, avg_order_value a numeric.
-- Refreshed CONCURRENTLY by the refresh-daily-revenue-summary CronJob, which needs the unique index.
CREATE MATERIALIZED VIEW daily_revenue_summary AS
SELECT
  o.restaurant_id,
  (o.created_at AT TIME ZONE r.timezone)::date AS order_date,
  count(*) AS total_orders,
  sum(o.total_cents) AS total_revenue,
  avg(o.total_cents) AS avg_order_value
FROM orders o
JOIN restaurants r ON r.id = o.restaurant_id
WHERE o.status = 'completed'
GROUP BY o.restaurant_id, (o.created_at AT TIME ZONE r.timezone)::date
WITH DATA;

CREATE UNIQUE INDEX idx_daily_revenue_summary_restaurant_date ON daily_revenue_summary (restaurant_id, order_date);

COMMENT ON COLUMN daily_revenue_summary.order_date IS 'business day in the restaurant''s timezone';
COMMENT ON COLUMN daily_revenue_summary.total_revenue IS 'cents of the restaurant''s currency';
COMMENT ON COLUMN daily_revenue_summary.avg_order_value IS 'cents of the restaurant''s currency';

-- Down Migration

DROP MATERIALIZED VIEW daily_revenue_summary;
