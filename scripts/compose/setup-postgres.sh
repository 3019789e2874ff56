#!/bin/sh
# Temporal's schema in PostgreSQL through temporalio/admin-tools (the auto-setup image is
# deprecated). Idempotent: `create` fails harmlessly when the database exists, and
# update-schema only applies missing versions.
set -eu
ep="${POSTGRES_SEEDS:-postgresql}"
port="${DB_PORT:-5432}"
until nc -z "$ep" "$port"; do echo "waiting for PostgreSQL at $ep:$port"; sleep 2; done
for db in temporal temporal_visibility; do
  dir=temporal
  [ "$db" = temporal_visibility ] && dir=visibility
  temporal-sql-tool --plugin postgres12 --ep "$ep" -p "$port" -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" --db "$db" create || true
  temporal-sql-tool --plugin postgres12 --ep "$ep" -p "$port" -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" --db "$db" setup-schema -v 0.0 || true
  temporal-sql-tool --plugin postgres12 --ep "$ep" -p "$port" -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" --db "$db" \
    update-schema -d "/etc/temporal/schema/postgresql/v12/$dir/versioned"
done
echo "PostgreSQL schema ready"
