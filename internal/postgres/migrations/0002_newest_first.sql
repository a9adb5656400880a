-- Lists ordered by -createdAt (newest first, then id ascending) walk these
-- instead of sorting the environment's rows.
CREATE INDEX users_list_newest ON users (environment_id, created_at DESC, id);
CREATE INDEX companies_list_newest ON companies (environment_id, created_at DESC, id);
