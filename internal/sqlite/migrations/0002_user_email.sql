-- The email filter reads a plain column that writes keep in step with
-- attributes.email (when it is a string), instead of an index on
-- json_extract: updates no longer parse the attributes in SQL, and touch
-- the index only when the email changes.
ALTER TABLE users ADD COLUMN email TEXT;
UPDATE users SET email = json_extract(attributes, '$.email') WHERE json_type(attributes, '$.email') = 'text';
DROP INDEX users_email;
CREATE INDEX users_email ON users (environment_id, email) WHERE email IS NOT NULL;
