-- Attribute write operations (set_once, add, union, remove), applied in the
-- statement that merges an upsert, on the row it has locked, with exactly
-- the semantics of userdata.Attributes.Merge (see ops.go).

-- tourd_fail raises the error of a write that cannot apply: SQLSTATE TD001,
-- which the store turns into a CodeInvalid error with this message.
CREATE FUNCTION tourd_fail(message text) RETURNS boolean
	LANGUAGE plpgsql
	AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'TD001', MESSAGE = message; END $$;

-- tourd_cannot raises the error of an operation whose key holds a value of
-- the wrong type, naming the type as userdata does.
CREATE FUNCTION tourd_cannot(field text, verb text, stored jsonb) RETURNS boolean
	LANGUAGE sql
	AS $$ SELECT tourd_fail(format('%s: cannot %s a stored %s', field, verb,
		CASE jsonb_typeof(stored) WHEN 'array' THEN 'list' ELSE jsonb_typeof(stored) END)) $$;

-- tourd_apply_ops returns attrs with the operations applied: ops maps each
-- key to {"op": "set_once" | "add" | "union" | "remove", "v": operand, "f":
-- the field named in errors} (userdata.Attributes.OpsJSON), and keys are
-- its keys (a loop over an array costs less than one over jsonb_each).
-- - set_once stores v when the key is absent.
-- - add: a missing key is 0; the stored value must be a number. The sum is
--   a double, as in Go, and must be finite: two doubles of one sign
--   overflow exactly when their halves (exact at those magnitudes, at least
--   2^970 each) sum to 2^1023 or more. float8 is printed in its shortest
--   exact form (extra_float_digits), as Go prints it.
-- - union: a missing key is []; the stored value must be an array; the
--   elements of v not in it are appended in order. Equality is jsonb's:
--   "1" is not 1, 1 is 1.0, an object or array equals no scalar.
-- - remove: a missing key stays missing; the stored value must be an
--   array; every element equal to one of v goes; emptying leaves [].
CREATE FUNCTION tourd_apply_ops(attrs jsonb, keys text[], ops jsonb) RETURNS jsonb
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
	SET extra_float_digits = 1
	AS $$
DECLARE
	k text;
	o jsonb;
	v jsonb;
	stored jsonb;
	x float8;
	y float8;
	changes jsonb := '{}'; -- the new values, merged into attrs once
BEGIN
	FOREACH k IN ARRAY keys LOOP
		o := ops -> k;
		stored := attrs -> k;
		v := o -> 'v';
		CASE o ->> 'op'
		WHEN 'set_once' THEN
			IF stored IS NULL THEN
				changes := changes || jsonb_build_object(k, v);
			END IF;
		WHEN 'add' THEN
			IF stored IS NULL THEN
				changes := changes || jsonb_build_object(k, v);
			ELSIF jsonb_typeof(stored) <> 'number' THEN
				PERFORM tourd_cannot(o ->> 'f', 'add to', stored);
			ELSE
				x := stored::float8;
				y := v::float8;
				IF sign(x) = sign(y) AND least(abs(x), abs(y)) >= 1e291::float8
					AND abs(x / 2 + y / 2) >= 2::float8 ^ 1023 THEN
					PERFORM tourd_fail((o ->> 'f') || ': the sum is too large for a number');
				END IF;
				changes := changes || jsonb_build_object(k, x + y);
			END IF;
		WHEN 'union' THEN
			IF stored IS NULL THEN
				stored := '[]';
			ELSIF jsonb_typeof(stored) <> 'array' THEN
				PERFORM tourd_cannot(o ->> 'f', 'union with', stored);
			END IF;
			changes := changes || jsonb_build_object(k, stored || coalesce(
				(SELECT jsonb_agg(e.value ORDER BY e.n) FROM jsonb_array_elements(v) WITH ORDINALITY AS e(value, n)
				WHERE NOT EXISTS (SELECT FROM jsonb_array_elements(stored) AS s(value) WHERE s.value = e.value)),
				'[]'));
		WHEN 'remove' THEN
			IF stored IS NULL THEN
				CONTINUE;
			ELSIF jsonb_typeof(stored) <> 'array' THEN
				PERFORM tourd_cannot(o ->> 'f', 'remove from', stored);
			END IF;
			changes := changes || jsonb_build_object(k, coalesce(
				(SELECT jsonb_agg(s.value ORDER BY s.n) FROM jsonb_array_elements(stored) WITH ORDINALITY AS s(value, n)
				WHERE NOT EXISTS (SELECT FROM jsonb_array_elements(v) AS e(value) WHERE e.value = s.value)),
				'[]'));
		END CASE;
	END LOOP;
	RETURN attrs || changes;
END $$;

-- tourd_stored_user and tourd_stored_company read one row with a snapshot
-- of their own (a VOLATILE function's statements each take one): an
-- upsert that changed nothing answers with the row it locked, which may
-- have been committed after the upsert's own snapshot was taken. PL/pgSQL
-- keeps their plans for the session (a SQL function would plan its query
-- at each call).
CREATE FUNCTION tourd_stored_user(env text, ext text) RETURNS TABLE (id text, attributes jsonb, created_at timestamptz)
	LANGUAGE plpgsql VOLATILE
	AS $$ BEGIN
		RETURN QUERY SELECT u.id, u.attributes, u.created_at FROM users u WHERE u.environment_id = env AND u.external_id = ext;
	END $$;
CREATE FUNCTION tourd_stored_company(env text, ext text) RETURNS TABLE (id text, attributes jsonb, created_at timestamptz)
	LANGUAGE plpgsql VOLATILE
	AS $$ BEGIN
		RETURN QUERY SELECT c.id, c.attributes, c.created_at FROM companies c WHERE c.environment_id = env AND c.external_id = ext;
	END $$;
