-- Tenancy: projects own definitions, environments own data, keys open one environment.
CREATE TABLE projects (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL -- microseconds since the Unix epoch, UTC
);

CREATE TABLE environments (
	id         TEXT PRIMARY KEY,
	project_id TEXT NOT NULL REFERENCES projects (id),
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (project_id, name)
);

CREATE TABLE api_keys (
	id             TEXT PRIMARY KEY,
	environment_id TEXT NOT NULL REFERENCES environments (id),
	key_hash       TEXT NOT NULL UNIQUE,
	prefix         TEXT NOT NULL,
	active         INTEGER NOT NULL DEFAULT 1,
	created_at     INTEGER NOT NULL
);

CREATE TABLE users (
	id             TEXT PRIMARY KEY,
	environment_id TEXT NOT NULL,
	external_id    TEXT NOT NULL,
	attributes     TEXT NOT NULL, -- a JSON object
	created_at     INTEGER NOT NULL,
	UNIQUE (environment_id, external_id)
);
CREATE INDEX users_list ON users (environment_id, created_at, id);
CREATE INDEX users_email ON users (environment_id, json_extract(attributes, '$.email'));

CREATE TABLE companies (
	id             TEXT PRIMARY KEY,
	environment_id TEXT NOT NULL,
	external_id    TEXT NOT NULL,
	attributes     TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	UNIQUE (environment_id, external_id)
);
CREATE INDEX companies_list ON companies (environment_id, created_at, id);

CREATE TABLE memberships (
	id             TEXT PRIMARY KEY,
	environment_id TEXT NOT NULL,
	user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	company_id     TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	attributes     TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	UNIQUE (user_id, company_id)
);
CREATE INDEX memberships_company ON memberships (company_id, user_id);

CREATE TABLE attribute_definitions (
	id           TEXT PRIMARY KEY,
	project_id   TEXT NOT NULL REFERENCES projects (id),
	scope        INTEGER NOT NULL,
	code_name    TEXT NOT NULL,
	display_name TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	data_type    INTEGER NOT NULL,
	predefined   INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	UNIQUE (project_id, scope, code_name)
);
CREATE INDEX attribute_definitions_display ON attribute_definitions (project_id, display_name, id);

CREATE TABLE event_definitions (
	id           TEXT PRIMARY KEY,
	project_id   TEXT NOT NULL REFERENCES projects (id),
	code_name    TEXT NOT NULL,
	display_name TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	predefined   INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	UNIQUE (project_id, code_name)
);
CREATE INDEX event_definitions_list ON event_definitions (project_id, created_at, id);

CREATE TABLE event_definition_attributes (
	event_definition_id     TEXT NOT NULL REFERENCES event_definitions (id) ON DELETE CASCADE,
	attribute_definition_id TEXT NOT NULL REFERENCES attribute_definitions (id) ON DELETE CASCADE,
	PRIMARY KEY (event_definition_id, attribute_definition_id)
);
CREATE INDEX event_definition_attributes_attribute ON event_definition_attributes (attribute_definition_id);
