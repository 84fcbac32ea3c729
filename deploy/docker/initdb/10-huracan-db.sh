#!/bin/sh
# Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d): creates the
# Brain Library database (HURACAN_PG_DB) beside Dagster's (POSTGRES_DB), owned by the same user.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     --set db="${HURACAN_PG_DB:-huracan}" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
SQL
