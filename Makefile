# Two commands on a fresh machine: `make run` serves the bundled model, `make test` tests it all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast client-test lint openapi compose-smoke scale-smoke browser-deps bench peer-venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Serving dependencies only: no TensorFlow.
$(VENV)/.serve-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# Everything, plus the client package (and its plot extra), so the venv has `fer-client`.
$(VENV)/.dev-installed: pyproject.toml client/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[train,dev]" -e "./client[plot]"
	touch $@ $(VENV)/.serve-installed

run: $(VENV)/.serve-installed
	$(BIN)/uvicorn --factory service.main:app_from_environment --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Debian's Chromium for the browser tests (never a downloaded browser); installed when we can.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q chromium >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  else echo "no /usr/bin/chromium and no root apt-get: browser tests will be skipped"; fi; \
	fi

test: lint browser-deps
	$(BIN)/pytest

# The quick loop while changing the service or the client (under 3 minutes): everything but the
# training runs (tests/training), the detector conversions (tests/converters, pip downloads and
# TensorFlow) and the tests marked slow; nothing starts Docker. `make test` still runs it all.
test-fast: $(VENV)/.dev-installed
	$(BIN)/pytest -q -m "not slow" --ignore=tests/training --ignore=tests/converters

# The client alone in a clean venv (no service, no pins but its own ranges), its tests against a
# service that .venv runs: the client installs beside whatever a user has.
CLIENT_VENV := .venv-client
client-test: $(VENV)/.dev-installed
	rm -rf $(CLIENT_VENV)
	$(PYTHON) -m venv $(CLIENT_VENV)
	$(CLIENT_VENV)/bin/pip install --quiet "./client[plot]" pytest pytest-timeout scikit-image
	FER_SERVICE_PYTHON=$(abspath $(BIN)/python) $(CLIENT_VENV)/bin/python -m pytest -q \
	  -p no:cacheprovider tests/client

# docker compose up for real, probed over HTTP and WebSocket, plus the training image.
compose-smoke: $(VENV)/.dev-installed
	@if [ -x ../shared/tools/with-docker ]; then \
	  ../shared/tools/with-docker -- scripts/compose-smoke.sh; \
	elif docker info >/dev/null 2>&1; then scripts/compose-smoke.sh; \
	else echo "SKIPPED compose smoke test: no Docker engine and no ../shared/tools/with-docker"; fi

# Three api replicas behind HAProxy for real: fair share, a replica stopped under load, streams
# reconnecting; prints the serving image's size. Same engine rules as compose-smoke.
scale-smoke: $(VENV)/.dev-installed
	@if [ -x ../shared/tools/with-docker ]; then \
	  ../shared/tools/with-docker -- scripts/scale-smoke.sh; \
	elif docker info >/dev/null 2>&1; then scripts/scale-smoke.sh; \
	else echo "SKIPPED scale smoke test: no Docker engine and no ../shared/tools/with-docker"; fi

openapi: $(VENV)/.serve-installed
	$(BIN)/python -m service.openapi_export openapi/openapi.json

# Minutes, not hours: REST at concurrency 1/4/8/16, WebSocket streams, stages, RSS; then the
# classifier alone (int8 and its float32 source) and where a request's time goes. Tables go to
# stdout, raw numbers to test-output/bench.json.
bench: $(VENV)/.dev-installed
	-$(MAKE) peer-venv
	$(BIN)/python -m bench.service_bench
	$(BIN)/python -m bench.client_video
	$(BIN)/python bench/classifier_latency.py models/fer-mobilenet-64x2-int8.onnx models/ferplus-mobilenet-64x2-int8.onnx models/ferplus-mobilenet-64x2.onnx
	$(BIN)/python -m bench.request_profile
	$(BIN)/python -m bench.classify_throughput
	$(BIN)/python -m bench.detector_eval
	$(BIN)/python -m bench.stream_tracking

# The peer users would pick instead (`fer`), in its own venv: bench/service_bench.py times it
# in-process on the same frame when this exists. Optional: `make bench` goes on without it.
# fer's own requirements minus facenet-pytorch (only its MTCNN option imports it; it pins an old,
# CUDA-sized torch); the benchmark uses fer's default OpenCV detector.
PEER_VENV := .venv-fer
peer-venv: $(PEER_VENV)/.installed
$(PEER_VENV)/.installed:
	$(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/pip install -q --no-deps fer==25.10.3
	$(PEER_VENV)/bin/pip install -q tensorflow-cpu==2.21.0 "setuptools<81" opencv-contrib-python \
	  matplotlib pandas requests "tqdm>=4.62.1" "moviepy>=1.0.3,<2.0" "ffmpeg-python>=0.2.0" Pillow
	touch $@

clean:
	rm -rf $(VENV) $(PEER_VENV) $(CLIENT_VENV) .mypy_cache .ruff_cache .pytest_cache test-output
