-- Whom a territory's boundary is owed to (e.g. "© OpenStreetMap contributors"), shown beside the map.
ALTER TABLE territory_shapes ADD COLUMN attribution TEXT;
