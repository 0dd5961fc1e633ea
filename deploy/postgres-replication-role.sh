#!/usr/bin/env bash
# On the primary (`db`), from /docker-entrypoint-initdb.d when the database is first created: the
# role the read replica (`db-replica`, profile `replicas`) streams the WAL with, and the pg_hba
# line that lets it connect for replication. Without REPLICATION_PASSWORD it does nothing.
#
# A database created before this script was mounted: run it once by hand, then reload:
#   docker compose exec -u postgres db bash /docker-entrypoint-initdb.d/10-replication-role.sh
#   docker compose exec -u postgres db psql -U dti -d dti -c 'SELECT pg_reload_conf()'
#
# The image may source this file rather than run it: no `exit`, no shell options changed.

if [ -z "${REPLICATION_PASSWORD:-}" ]; then
    echo "replication role: REPLICATION_PASSWORD is not set, no replication role created"
else
    # the password is passed as a psql variable and quoted by format(%L), never spliced in
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" \
        --dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" \
        --set password="$REPLICATION_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE replicator WITH REPLICATION LOGIN'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'replicator') \gexec
SELECT format('ALTER ROLE replicator WITH REPLICATION LOGIN PASSWORD %L', :'password') \gexec
SQL
    hba="${PGDATA:-/var/lib/postgresql/data}/pg_hba.conf"
    if ! grep -q '^host[[:space:]]\+replication[[:space:]]\+replicator[[:space:]]' "$hba"; then
        echo "host replication replicator all scram-sha-256" >> "$hba"
    fi
    echo "replication role: replicator can stream from this server"
fi
