-- The email filter reads a plain column that every write keeps equal to
-- attributes.email when that is a string (tourd_email), instead of an index
-- on the attributes: an upsert that leaves the email alone then changes no
-- indexed column, and PostgreSQL can update the row in place (HOT) without
-- touching any index. fillfactor leaves each page room for that.
CREATE FUNCTION tourd_email(attrs jsonb) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT CASE WHEN jsonb_typeof(attrs -> 'email') = 'string' THEN attrs ->> 'email' END $$;
ALTER TABLE users ADD COLUMN email text COLLATE "C";
UPDATE users SET email = tourd_email(attributes);
DROP INDEX users_email;
-- Only a prefix is indexed: a btree entry must stay under about 2.7 kB.
CREATE INDEX users_email ON users (environment_id, left(email, 256)) WHERE email IS NOT NULL;
ALTER TABLE users SET (fillfactor = 80);
ALTER TABLE companies SET (fillfactor = 80);
