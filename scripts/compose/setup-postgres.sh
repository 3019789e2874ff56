#!/bin/sh
# Temporal's schema in PostgreSQL: both databases created, then every missing schema version
# applied. One script for both callers: the compose stack runs it in temporalio/admin-tools (the
# auto-setup image is deprecated), where the tool and the schema are at the defaults below; the
# local cluster (scripts/cluster/temporal-cluster.ts) runs it with the tool and the schema that
# scripts/cluster/build.sh puts in .tools. Idempotent: `create` fails harmlessly when the
# database exists, `setup-schema -v 0.0` when the schema does, and update-schema only applies
# missing versions.
#   POSTGRES_SEEDS, DB_PORT, POSTGRES_USER, POSTGRES_PWD   where PostgreSQL is, and who to be
#   TEMPORAL_SQL_TOOL    the schema tool (go.temporal.io/server/cmd/tools/sql)
#   TEMPORAL_SCHEMA_DIR  the folder holding postgresql/v12/{temporal,visibility}/versioned
#   SETUP_ATTEMPTS       how many times to try reaching PostgreSQL, 2 s apart (0: for ever)
set -eu
ep="${POSTGRES_SEEDS:-postgresql}"
port="${DB_PORT:-5432}"
tool="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"
schema="${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema}"
attempts="${SETUP_ATTEMPTS:-0}"
sql() { "$tool" --plugin postgres12 --ep "$ep" -p "$port" -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" "$@"; }
# Waits for PostgreSQL with the tool itself (no nc needed): `create` either works or names the
# database as already there once the server answers.
tries=0
until out="$(sql --db temporal create 2>&1)" || echo "$out" | grep -q 'already exists'; do
  tries=$((tries + 1))
  if [ "$attempts" -gt 0 ] && [ "$tries" -ge "$attempts" ]; then
    echo "PostgreSQL at $ep:$port not reachable after $tries attempts: $out" >&2
    exit 1
  fi
  echo "waiting for PostgreSQL at $ep:$port"
  sleep 2
done
for db in temporal temporal_visibility; do
  dir=temporal
  [ "$db" = temporal_visibility ] && dir=visibility
  sql --db "$db" create >/dev/null 2>&1 || true
  sql --db "$db" setup-schema -v 0.0 >/dev/null 2>&1 || true
  sql --db "$db" update-schema -d "$schema/postgresql/v12/$dir/versioned"
done
echo "PostgreSQL schema ready"
