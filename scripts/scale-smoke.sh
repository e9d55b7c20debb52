#!/usr/bin/env bash
# Scale out with docker compose for real: REPLICAS api containers behind HAProxy, REST and
# streams through the balancer, one replica stopped under load. Fails loudly on any step.
# Needs a Docker engine (CI provides one through ../shared/tools/with-docker) and .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
REPLICAS=${REPLICAS:-3}
export COMPOSE_PROJECT_NAME=fer-scale
export COMPOSE_FILE=docker-compose.scale.yml
export FER_LB_PORT=${FER_LB_PORT:-18080}
export FER_LB_STATS_PORT=${FER_LB_STATS_PORT:-18404}

step() { printf '\n== %s\n' "$*"; }
cleanup() { docker compose down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT
started=$SECONDS

step "static checks: hadolint and compose config"
hadolint Dockerfile deploy/haproxy/Dockerfile
docker compose config -q

step "build and start $REPLICAS api replicas behind HAProxy"
docker compose up --build -d --wait --wait-timeout 300 --scale "api=$REPLICAS"
docker compose ps --format '{{.Name}}  {{.Status}}'
scripts/image-footprint.sh

step "load, spread and failover through the balancer"
# shellcheck disable=SC2046 # one argument per container id
"$PY" scripts/scale_client.py "http://127.0.0.1:$FER_LB_PORT" \
  --stats "http://127.0.0.1:$FER_LB_STATS_PORT/stats" $(docker compose ps -q api)

step "down"
docker compose down -v --remove-orphans
trap - EXIT
echo "scale smoke test passed in $((SECONDS - started)) s"
