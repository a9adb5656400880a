-- Deleted environments (v2.md §9), as the SQLite backend's
-- 0007_environment_purge.sql: their rows are removed in the background
-- (userdata.Purger), which records here when it is done, so that a process
-- that starts resumes the purges left unfinished, and only those.
ALTER TABLE environments ADD COLUMN purged_at timestamptz; -- NULL until the purge is done
