#!/usr/bin/env bash
# The real-services test tier: the same unit and end-to-end suites as `npm test`, but on real
# PostgreSQL (one database per subgraph), Redis and NATS JetStream instead of the embedded defaults.
# Needs PostgreSQL at $PGHOST:$PGPORT (default 127.0.0.1:5432, user postgres), Redis at $REDIS_URL and
# NATS with JetStream at $NATS_URL (default nats://127.0.0.1:4222).
# Databases are dropped and recreated each run so every run starts from the same seed.
# --dry-run prints the database variables each tier would export, and touches nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
dry_run=false
[[ "${1:-}" == --dry-run ]] && dry_run=true
: "${PGHOST:=127.0.0.1}" "${PGPORT:=5432}" "${PGUSER:=postgres}"
export PGHOST PGPORT PGUSER
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
# The databases are recreated each run, so the caches must start empty too: every run gets a key
# prefix (and bus channel) of its own on the shared Redis, and removes its keys when it ends.
export CACHE_KEY_PREFIX="${CACHE_KEY_PREFIX:-shop-test-$(date +%s)-$$:}"
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
# Likewise a stream and subjects of its own on the shared NATS, deleted when the run ends.
run_id="$(date +%s)_$$"
export NATS_STREAM="${NATS_STREAM:-SHOP_TEST_${run_id}}"
export NATS_SUBJECT_PREFIX="${NATS_SUBJECT_PREFIX:-shop-test-${run_id//_/-}}"
drop_cache_keys() {
  redis-cli -u "$REDIS_URL" --scan --pattern "${CACHE_KEY_PREFIX}*" | xargs -r -d '\n' -n 500 redis-cli -u "$REDIS_URL" del >/dev/null || true
}
drop_streams() {
  npx tsx --conditions=@shop/source packages/events/src/drop-streams-cli.ts "$NATS_URL" "$NATS_STREAM" "${NATS_STREAM}_DLQ" || true
}
# "<name> <NAME>_DATABASE_URL" for every subgraph, from the registry (packages/registry).
mapfile -t subgraphs < <(npx tsx --conditions=@shop/source -e "import { databaseUrlVar, SUBGRAPH_NAMES } from '@shop/registry'; for (const name of SUBGRAPH_NAMES) console.log(name, databaseUrlVar(name));")
if [[ ${#subgraphs[@]} -eq 0 ]]; then
  echo "no subgraphs read from @shop/registry" >&2
  exit 1
fi

recreate() { # tier
  local name var db
  for entry in "${subgraphs[@]}"; do
    read -r name var <<<"$entry"
    db="shop_$1_${name}"
    if $dry_run; then
      echo "export ${var}=postgres://${PGUSER}@${PGHOST}:${PGPORT}/${db}"
      continue
    fi
    dropdb --if-exists --force "$db"
    createdb "$db"
    export "${var}=postgres://${PGUSER}@${PGHOST}:${PGPORT}/${db}"
  done
}

if $dry_run; then
  for tier in unit e2e; do
    echo "== ${tier} tier (shop_${tier}_*)"
    recreate "$tier"
  done
  exit 0
fi
trap 'drop_cache_keys; drop_streams' EXIT

echo "== services tier: unit tests on PostgreSQL (shop_unit_*)"
recreate unit
npx vitest run --project unit --project unit-postgres --project unit-redis --project unit-nats --project unit-redis-cluster --project unit-replica

echo "== services tier: end-to-end tests on PostgreSQL and Redis (shop_e2e_*)"
recreate e2e
npx vitest run --project e2e --project e2e-redis --project e2e-nats
