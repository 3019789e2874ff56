#!/bin/sh
# Registers the namespace and the custom search attributes the service keeps current
# (docs/design.md), once the server answers. Idempotent.
set -eu
ns="${TEMPORAL_NAMESPACE:-default}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do sleep 3; done
temporal operator namespace describe -n "$ns" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 ||
  temporal operator namespace create -n "$ns" --retention 30d --address "$TEMPORAL_ADDRESS"
for name in NiuEnvironment NiuUserPrincipalName NiuStep; do
  temporal operator search-attribute create -n "$ns" --name "$name" --type Keyword --address "$TEMPORAL_ADDRESS" ||
    echo "search attribute $name already registered"
done
echo "namespace $ns and search attributes ready"
