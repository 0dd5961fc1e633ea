#!/usr/bin/env bash
# The read replica (`db-replica`, profile `replicas`): a hot-standby streaming replica of `db`.
# On its first start (an empty data directory) it copies the primary with
# `pg_basebackup --write-recovery-conf` (standby.signal, and primary_conninfo in
# postgresql.auto.conf), through the replication slot `dti_replica`, which keeps on the primary
# the WAL the replica has not replayed yet. Then, and on every later start, it runs the image's
# own entrypoint, which starts the server as a standby of `db`.
#
# The primary needs the `replicator` role and its pg_hba line (postgres-replication-role.sh)
# and the same REPLICATION_PASSWORD.
set -Eeuo pipefail

: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set (in .env) for the read replica}"
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
primary="${PRIMARY_HOST:-db}"
slot="${REPLICATION_SLOT:-dti_replica}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    export PGPASSWORD="$REPLICATION_PASSWORD"
    until gosu postgres pg_isready --host="$primary" --quiet; do
        echo "read replica: waiting for $primary"
        sleep 2
    done
    # the slot survives a replica rebuilt from scratch: reuse it then
    if gosu postgres psql --host="$primary" --username=replicator \
        --dbname="${POSTGRES_DB:-dti}" --no-align --tuples-only \
        --command="SELECT 1 FROM pg_replication_slots WHERE slot_name = '$slot'" | grep -q 1; then
        slot_options=(--slot="$slot")
    else
        slot_options=(--create-slot --slot="$slot")
    fi
    echo "read replica: copying $primary"
    if ! gosu postgres pg_basebackup --host="$primary" --username=replicator \
        --pgdata="$PGDATA" --wal-method=stream --write-recovery-conf \
        --checkpoint=fast "${slot_options[@]}"; then
        # leave an empty directory for the next start to try again
        find "$PGDATA" -mindepth 1 -delete
        echo "read replica: the copy of $primary failed" >&2
        exit 1
    fi
    unset PGPASSWORD
fi

exec docker-entrypoint.sh postgres
