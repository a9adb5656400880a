-- The definitions API of v2 (v2.md §6, §8): every order of a definition
-- list walks an index (event definitions by codeName walk their unique
-- key), and whether an event definition has recorded events is one index
-- probe per environment.
CREATE INDEX attribute_definitions_code_name ON attribute_definitions (project_id, code_name, id);
CREATE INDEX attribute_definitions_created ON attribute_definitions (project_id, created_at, id);
CREATE INDEX event_definitions_display ON event_definitions (project_id, display_name, id);
CREATE INDEX events_name ON events (environment_id, name);
