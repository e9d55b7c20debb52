#!/usr/bin/env bash
# Deploy with docker compose for real and probe it; fails loudly on any step.
# Needs a Docker engine (CI provides one through ../shared/tools/with-docker) and .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export COMPOSE_PROJECT_NAME=fer-smoke
export FER_HOST_PORT=${FER_HOST_PORT:-18000}
export FER_DATA=$PWD/test-output/smoke-data
export KERAS_WEIGHTS=$PWD/test-output/smoke-weights
BASE=http://127.0.0.1:$FER_HOST_PORT

step() { printf '\n== %s\n' "$*"; }
cleanup() { docker compose --profile train down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "static checks: hadolint and compose config"
hadolint Dockerfile Dockerfile.train
docker compose config -q
docker compose --profile train config -q

step "build and start the api"
docker compose up --build -d --wait --wait-timeout 240
scripts/image-footprint.sh
docker compose exec -T api python -c \
  "import importlib.util, sys; sys.exit(importlib.util.find_spec('tensorflow') is not None)"
echo "ok: no TensorFlow in the serving image"
docker compose exec -T api sh -c 'touch /app/x 2>/dev/null && exit 1 || exit 0'
echo "ok: the root file system is read-only"

step "probe the api"
"$PY" scripts/smoke_client.py "$BASE"

step "train in the training image (fast dev run) and serve its model"
rm -rf "$FER_DATA" trained-models/smoke
mkdir -p trained-models "$KERAS_WEIGHTS"
chmod a+rwx trained-models
"$PY" -c "from pathlib import Path; from devtools.fer_folders import write_fer_folder; write_fer_folder(Path('$FER_DATA'), 8)"
docker compose --profile train build train
docker compose --profile train run --rm train \
  train --data /data --run-dir /runs/smoke --fast-dev-run --weights none --batch-size 16
model=$(ls trained-models/smoke/export/*.onnx)
echo "trained: $model"
FER_MODEL_PATH=/app/$model docker compose up -d --wait --wait-timeout 120 api
"$PY" scripts/smoke_client.py "$BASE" --model-name "$(basename "$model" .onnx)"

step "down"
docker compose --profile train down -v --remove-orphans
trap - EXIT
echo "compose smoke test passed"
