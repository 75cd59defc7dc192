-- Up Migration

CREATE TABLE menu_categories (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  restaurant_id bigint NOT NULL CONSTRAINT menu_categories_restaurant_fkey REFERENCES restaurants (id),
  name text NOT NULL CONSTRAINT menu_categories_name_check CHECK (length(name) BETWEEN 1 AND 120),
  sort_order integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT menu_categories_restaurant_name_key UNIQUE (restaurant_id, name),
  -- Target of menu_items' composite key: an item can never sit in another restaurant's category.
  CONSTRAINT menu_categories_restaurant_id_key UNIQUE (restaurant_id, id)
);

CREATE TABLE menu_items (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  restaurant_id bigint NOT NULL CONSTRAINT menu_items_restaurant_fkey REFERENCES restaurants (id),
  category_id bigint NOT NULL,
  name text NOT NULL CONSTRAINT menu_items_name_check CHECK (length(name) BETWEEN 1 AND 200),
  description text CONSTRAINT menu_items_description_check CHECK (length(description) <= 2000),
  price_cents integer NOT NULL CONSTRAINT menu_items_price_cents_check CHECK (price_cents >= 0),
  is_available boolean NOT NULL DEFAULT true,
  -- Object keys of the item's images in the CDN bucket by variant, e.g. {"thumb": "...", "full": "..."}.
  image_keys jsonb CONSTRAINT menu_items_image_keys_check CHECK (image_keys IS NULL OR jsonb_typeof(image_keys) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT menu_items_category_fkey FOREIGN KEY (restaurant_id, category_id)
    REFERENCES menu_categories (restaurant_id, id)
);

-- The menu page: a restaurant's items by category, available ones first or only.
CREATE INDEX idx_menu_items_restaurant_category ON menu_items (restaurant_id, category_id, is_available);

CREATE TRIGGER menu_categories_touch_updated_at BEFORE UPDATE ON menu_categories
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER menu_items_touch_updated_at BEFORE UPDATE ON menu_items
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Down Migration

DROP TABLE menu_items;
DROP TABLE menu_categories;
