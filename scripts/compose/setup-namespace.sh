#!/bin/sh
# Registers the namespace and the custom search attributes the service keeps current
# (docs/design.md), once the server answers. Idempotent. One script for both callers: the
# compose stack runs it in temporalio/admin-tools (its `temporal` CLI on the PATH); the local
# cluster (scripts/cluster/temporal-cluster.ts) with the CLI that scripts/temporal-cli.sh builds.
#   TEMPORAL_ADDRESS    the frontend, host:port
#   TEMPORAL_NAMESPACE  the namespace (default: default)
#   TEMPORAL_CLI        the Temporal CLI (default: temporal)
#   SETUP_ATTEMPTS      how many times to ask for the server's health, 3 s apart (0: for ever)
set -eu
ns="${TEMPORAL_NAMESPACE:-default}"
cli="${TEMPORAL_CLI:-temporal}"
attempts="${SETUP_ATTEMPTS:-0}"
tries=0
until "$cli" operator cluster health --address "$TEMPORAL_ADDRESS"; do
  tries=$((tries + 1))
  if [ "$attempts" -gt 0 ] && [ "$tries" -ge "$attempts" ]; then
    echo "Temporal at $TEMPORAL_ADDRESS not serving after $tries attempts" >&2
    exit 1
  fi
  sleep 3
done
"$cli" operator namespace describe -n "$ns" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 ||
  "$cli" operator namespace create -n "$ns" --retention 30d --address "$TEMPORAL_ADDRESS"
# A namespace created a moment ago is unknown to the frontend until its namespace cache refreshes
# (up to 10 s): creating a search attribute fails meanwhile, so each is created until the list
# shows it (a failed create is not taken for one already there).
for name in NiuEnvironment NiuUserPrincipalName NiuStep; do
  tries=0
  until "$cli" operator search-attribute list -n "$ns" --address "$TEMPORAL_ADDRESS" 2>/dev/null | grep -qw "$name"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 60 ]; then
      echo "search attribute $name not registered in $ns after $tries attempts" >&2
      exit 1
    fi
    "$cli" operator search-attribute create -n "$ns" --name "$name" --type Keyword --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 ||
      sleep 2
  done
done
echo "namespace $ns and search attributes ready"
