-- The same tables as the SQLite backend's 0001_init.sql, in PostgreSQL types.
-- Ids, external ids, code and display names and names use COLLATE "C", so
-- that ordering and keyset paging compare bytes whatever the database's
-- collation is.

-- Tenancy: projects own definitions, environments own data, keys open one environment.
CREATE TABLE projects (
	id         text COLLATE "C" PRIMARY KEY,
	name       text COLLATE "C" NOT NULL UNIQUE,
	created_at timestamptz NOT NULL
);

CREATE TABLE environments (
	id         text COLLATE "C" PRIMARY KEY,
	project_id text COLLATE "C" NOT NULL REFERENCES projects (id),
	name       text COLLATE "C" NOT NULL,
	created_at timestamptz NOT NULL,
	UNIQUE (project_id, name)
);

CREATE TABLE api_keys (
	id             text COLLATE "C" PRIMARY KEY,
	environment_id text COLLATE "C" NOT NULL REFERENCES environments (id),
	key_hash       text COLLATE "C" NOT NULL UNIQUE,
	prefix         text NOT NULL,
	active         boolean NOT NULL DEFAULT true,
	created_at     timestamptz NOT NULL
);

CREATE TABLE users (
	id             text COLLATE "C" PRIMARY KEY,
	environment_id text COLLATE "C" NOT NULL,
	external_id    text COLLATE "C" NOT NULL,
	attributes     jsonb NOT NULL, -- a JSON object
	created_at     timestamptz NOT NULL,
	UNIQUE (environment_id, external_id)
);
CREATE INDEX users_list ON users (environment_id, created_at, id);
-- The email filter. Only a prefix is indexed: a btree entry must stay under
-- about 2.7 kB, and an attribute value may be far longer. The filter
-- compares the same prefix, then the whole value.
CREATE INDEX users_email ON users (environment_id, left(attributes ->> 'email', 256));

CREATE TABLE companies (
	id             text COLLATE "C" PRIMARY KEY,
	environment_id text COLLATE "C" NOT NULL,
	external_id    text COLLATE "C" NOT NULL,
	attributes     jsonb NOT NULL,
	created_at     timestamptz NOT NULL,
	UNIQUE (environment_id, external_id)
);
CREATE INDEX companies_list ON companies (environment_id, created_at, id);

CREATE TABLE memberships (
	id             text COLLATE "C" PRIMARY KEY,
	environment_id text COLLATE "C" NOT NULL,
	user_id        text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	company_id     text COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	attributes     jsonb NOT NULL,
	created_at     timestamptz NOT NULL,
	UNIQUE (user_id, company_id)
);
CREATE INDEX memberships_company ON memberships (company_id, user_id);

CREATE TABLE attribute_definitions (
	id           text COLLATE "C" PRIMARY KEY,
	project_id   text COLLATE "C" NOT NULL REFERENCES projects (id),
	scope        integer NOT NULL,
	code_name    text COLLATE "C" NOT NULL,
	display_name text COLLATE "C" NOT NULL,
	description  text NOT NULL DEFAULT '',
	data_type    integer NOT NULL,
	predefined   boolean NOT NULL DEFAULT false,
	created_at   timestamptz NOT NULL,
	UNIQUE (project_id, scope, code_name)
);
CREATE INDEX attribute_definitions_display ON attribute_definitions (project_id, display_name, id);

CREATE TABLE event_definitions (
	id           text COLLATE "C" PRIMARY KEY,
	project_id   text COLLATE "C" NOT NULL REFERENCES projects (id),
	code_name    text COLLATE "C" NOT NULL,
	display_name text COLLATE "C" NOT NULL,
	description  text NOT NULL DEFAULT '',
	predefined   boolean NOT NULL DEFAULT false,
	created_at   timestamptz NOT NULL,
	UNIQUE (project_id, code_name)
);
CREATE INDEX event_definitions_list ON event_definitions (project_id, created_at, id);

CREATE TABLE event_definition_attributes (
	event_definition_id     text COLLATE "C" NOT NULL REFERENCES event_definitions (id) ON DELETE CASCADE,
	attribute_definition_id text COLLATE "C" NOT NULL REFERENCES attribute_definitions (id) ON DELETE CASCADE,
	PRIMARY KEY (event_definition_id, attribute_definition_id)
);
CREATE INDEX event_definition_attributes_attribute ON event_definition_attributes (attribute_definition_id);
