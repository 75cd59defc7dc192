-- Up Migration

CREATE TABLE tables (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  restaurant_id bigint NOT NULL CONSTRAINT tables_restaurant_fkey REFERENCES restaurants (id),
  label text NOT NULL CONSTRAINT tables_label_check CHECK (length(label) BETWEEN 1 AND 40),
  seats integer NOT NULL CONSTRAINT tables_seats_check CHECK (seats BETWEEN 1 AND 100),
  status text NOT NULL DEFAULT 'available'
    CONSTRAINT tables_status_check CHECK (status IN ('available', 'occupied', 'reserved', 'cleaning', 'out_of_service')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT tables_restaurant_label_key UNIQUE (restaurant_id, label),
  -- Target of composite keys (orders, reservations): a row can only name a table of its restaurant.
  CONSTRAINT tables_restaurant_id_key UNIQUE (restaurant_id, id)
);

CREATE INDEX idx_tables_restaurant_status ON tables (restaurant_id, status);

CREATE TABLE guests (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  restaurant_id bigint NOT NULL CONSTRAINT guests_restaurant_fkey REFERENCES restaurants (id),
  display_name text CONSTRAINT guests_display_name_check CHECK (length(display_name) BETWEEN 1 AND 120),
  phone text CONSTRAINT guests_phone_check CHECK (length(phone) <= 32),
  email text CONSTRAINT guests_email_check CHECK (length(email) <= 254),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT guests_restaurant_id_key UNIQUE (restaurant_id, id)
);

-- reservation_date and reservation_time are the restaurant's wall clock (its timezone), not an
-- instant: a booking for 19:30 stays at 19:30 whatever the offset of that day.
CREATE TABLE reservations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  restaurant_id bigint NOT NULL CONSTRAINT reservations_restaurant_fkey REFERENCES restaurants (id),
  guest_id bigint,
  table_id bigint,
  -- Bookings by phone have no guest account, so the name is kept on the reservation.
  guest_name text NOT NULL CONSTRAINT reservations_guest_name_check CHECK (length(guest_name) BETWEEN 1 AND 120),
  reservation_date date NOT NULL,
  reservation_time time NOT NULL,
  party_size integer NOT NULL CONSTRAINT reservations_party_size_check CHECK (party_size BETWEEN 1 AND 100),
  status text NOT NULL DEFAULT 'pending'
    CONSTRAINT reservations_status_check CHECK (status IN ('pending', 'confirmed', 'seated', 'completed', 'cancelled', 'no_show')),
  notes text CONSTRAINT reservations_notes_check CHECK (length(notes) <= 1000),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT reservations_guest_fkey FOREIGN KEY (restaurant_id, guest_id) REFERENCES guests (restaurant_id, id),
  CONSTRAINT reservations_table_fkey FOREIGN KEY (restaurant_id, table_id) REFERENCES tables (restaurant_id, id)
);

-- The host stand: a restaurant's reservations of one day.
CREATE INDEX idx_reservations_restaurant_date ON reservations (restaurant_id, reservation_date);

CREATE TRIGGER tables_touch_updated_at BEFORE UPDATE ON tables
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER guests_touch_updated_at BEFORE UPDATE ON guests
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER reservations_touch_updated_at BEFORE UPDATE ON reservations
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Down Migration

DROP TABLE reservations;
DROP TABLE guests;
DROP TABLE tables;
