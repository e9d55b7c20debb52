# Serving image: FastAPI + onnxruntime + OpenCV and the bundled model. No TensorFlow, no compilers.
FROM python:3.11.7-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install --no-cache-dir . \
    && find /opt/venv -name "__pycache__" -type d -prune -exec rm -rf {} +

FROM python:3.11.7-slim AS runtime
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin fer
COPY --from=build /opt/venv /opt/venv
COPY models /app/models
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FER_MODEL_PATH=/app/models/fer-mobilenet-64.onnx \
    FER_DETECTOR_MODEL_PATH=/app/models/blazeface-back.onnx \
    WEB_CONCURRENCY=1
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
# uvicorn is PID 1 and receives SIGTERM itself; WEB_CONCURRENCY sets its worker count.
CMD ["uvicorn", "service.main:app", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "20"]
