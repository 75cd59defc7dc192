-- Up Migration

-- Shared by every table with an updated_at: caches, ETags and analytics compare it, so it is kept
-- by the database rather than by each repository remembering to set it.
CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

-- Only IANA zone names: AT TIME ZONE also accepts abbreviations ('ICT') and POSIX strings ('UTC+7'
-- means UTC-7), and one unknown name would make every refresh of daily_revenue_summary fail.
CREATE FUNCTION is_iana_time_zone(zone text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = zone)
$$;

CREATE TABLE restaurants (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slug text NOT NULL CONSTRAINT restaurants_slug_key UNIQUE
    CONSTRAINT restaurants_slug_check CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text NOT NULL CONSTRAINT restaurants_name_check CHECK (length(name) BETWEEN 1 AND 200),
  -- The business day of analytics (daily_revenue_summary) is the day in this zone.
  timezone text NOT NULL CONSTRAINT restaurants_timezone_check CHECK (is_iana_time_zone(timezone)),
  -- ISO 4217; every *_cents column is in hundredths of this currency (satang for THB, pence for GBP).
  currency text NOT NULL CONSTRAINT restaurants_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
  settings jsonb NOT NULL DEFAULT '{}'::jsonb
    CONSTRAINT restaurants_settings_check CHECK (jsonb_typeof(settings) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER restaurants_touch_updated_at BEFORE UPDATE ON restaurants
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Down Migration

DROP TABLE restaurants;
DROP FUNCTION is_iana_time_zone(text);
DROP FUNCTION touch_updated_at();
