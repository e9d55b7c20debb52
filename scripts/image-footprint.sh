#!/usr/bin/env bash
# What the project adds to the base image (/opt/venv + /app in a running api container), in MiB
# as `du -sm` counts them, and the whole image's size; fails above the budget. Uses the calling
# script's compose project. `-x` keeps volumes out of the count (compose mounts ./trained-models
# at /app/trained-models, which the compose smoke test fills with a freshly trained model).
set -euo pipefail
BUDGET_MIB=${FER_IMAGE_BUDGET_MIB:-300}
mib=$(docker compose exec -T --index 1 api du -smx /opt/venv /app | awk '{s += $1} END {print s}')
image=$(docker inspect --format '{{.Image}}' "$(docker compose ps -q api | head -n 1)")
docker image inspect "$image" --format '{{.Size}}' |
  awk '{printf "serving image: %.0f MiB in all\n", $1 / 2^20}'
echo "serving image: the project adds $mib MiB to the base image (/opt/venv + /app; budget $BUDGET_MIB)"
if ((mib > BUDGET_MIB)); then
  echo "SMOKE FAILED: the serving image grew past its budget" >&2
  exit 1
fi
