#!/usr/bin/env bash
# Runs tourd's whole test suite: vet, gofmt, a cross-compile for macOS and
# Windows, unit, handler and end-to-end tests on SQLite and PostgreSQL, the
# fuzz seed corpus, and one pass of every benchmark.
#
# PostgreSQL: set TOURD_TEST_POSTGRES to a database URL to use it as is.
# Otherwise, when run as root, this script starts the local PostgreSQL
# (installing it from Debian's packages if missing) and creates a `tourd`
# role and `tourd_test` database for the tests. Without either, the
# PostgreSQL tests are skipped, with a warning.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }

setup_postgres() {
	if [ -n "${TOURD_TEST_POSTGRES:-}" ]; then
		log "PostgreSQL: using TOURD_TEST_POSTGRES"
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		log "WARNING: not root and TOURD_TEST_POSTGRES unset: PostgreSQL tests will be skipped"
		return 0
	fi
	if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
		log "PostgreSQL: installing from Debian's packages"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq postgresql >/dev/null
	fi
	local version
	version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
	if [ ! -d "/etc/postgresql/$version/main" ]; then
		log "PostgreSQL: creating cluster $version/main"
		pg_createcluster "$version" main >/dev/null
	fi
	if ! pg_ctlcluster "$version" main status >/dev/null 2>&1; then
		log "PostgreSQL: starting cluster $version/main"
		pg_ctlcluster --skip-systemctl-redirect "$version" main start
	fi
	for _ in $(seq 1 60); do
		pg_isready -q -h 127.0.0.1 -p 5432 && break
		sleep 0.5
	done
	pg_isready -h 127.0.0.1 -p 5432
	su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL'
SELECT 'CREATE ROLE tourd LOGIN PASSWORD ''tourd'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tourd') \gexec
SELECT 'CREATE DATABASE tourd_test OWNER tourd'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tourd_test') \gexec
SQL
	export TOURD_TEST_POSTGRES="postgres://tourd:tourd@127.0.0.1:5432/tourd_test?sslmode=disable"
	log "PostgreSQL: ready at 127.0.0.1:5432/tourd_test"
}

setup_postgres

log "gofmt and go vet"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	printf 'not gofmt-clean:\n%s\n' "$unformatted" >&2
	exit 1
fi
go vet ./...

log "cross-compiling (and vetting) for macOS and Windows"
for target in darwin/arm64 windows/amd64; do
	GOOS=${target%/*} GOARCH=${target#*/} go build ./...
	GOOS=${target%/*} GOARCH=${target#*/} go vet ./...
done

log "tests (race detector on)"
go test -race -count=1 -timeout 20m ./...

log "benchmarks, one iteration each (a smoke test: no timing is asserted)"
go test -run '^$' -bench . -benchtime 1x -count=1 ./...
