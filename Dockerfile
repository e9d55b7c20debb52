# Serving image: FastAPI + onnxruntime + OpenCV and the bundled model. No TensorFlow, no compilers,
# and nothing installed that the service never loads.
FROM python:3.11.7-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# binutils for strip, in this stage only.
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils=2.40* \
    && rm -rf /var/lib/apt/lists/*
# The venv gets no pip or setuptools of its own: the base image's pip installs into it.
RUN python -m venv --without-pip /opt/venv
COPY pyproject.toml README.md ./
COPY service ./service
COPY models ./models
RUN pip --python /opt/venv/bin/python install --no-compile . \
    && find /opt/venv -name "__pycache__" -type d -prune -exec rm -rf {} +
# Then drop what the running service never loads:
# - numpy's test suites, f2py, distutils and C headers (tools for building extensions);
# - onnxruntime's C-API library (its Python binding carries its own copy of the runtime) and its
#   offline model tools (transformers, quantization, tools: they need the onnx package, which is
#   not installed here);
# - OpenCV's Haar cascades other than the frontal-face one the haar detector loads;
# - debug symbols of the extension modules (uvloop's alone are 12 MB); the libraries that
#   auditwheel bundled (*.libs) are left as they are.
# The check after it fails the build if that went too far: every bundled model still loads, the
# Haar detector builds, and the service imports (-I: from the venv, not from /src).
RUN site=$(/opt/venv/bin/python -c "import sysconfig; print(sysconfig.get_path('purelib'))") \
    && rm -rf "$site"/numpy/f2py "$site"/numpy/distutils "$site"/numpy/_core/include \
    && find "$site/numpy" -depth -type d -name tests -exec rm -rf {} + \
    && rm -rf "$site"/onnxruntime/capi/libonnxruntime.so.* "$site"/onnxruntime/transformers \
        "$site"/onnxruntime/quantization "$site"/onnxruntime/tools \
    && find "$site/cv2/data" -name "haarcascade_*.xml" ! -name haarcascade_frontalface_default.xml -delete \
    && find "$site" -name "*.so" -not -path "*.libs/*" -exec strip --strip-unneeded {} + \
    && /opt/venv/bin/python -I -B -c "import glob, onnxruntime as ort, python_multipart, uvloop, httptools, websockets.speedups, PIL.Image, service.api.routes.predict, service.api.routes.stream; import service.main; from service.config import Settings; from service.detectors import build_detector; build_detector(Settings(detector='haar', models_dir='/src/models')); [ort.InferenceSession(m) for m in glob.glob('/src/models/*.onnx')]"

FROM python:3.11.7-slim AS runtime
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin fer
COPY --from=build /opt/venv /opt/venv
COPY models /app/models
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FER_MODELS_DIR=/app/models \
    WEB_CONCURRENCY=1
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
# uvicorn is PID 1 and receives SIGTERM itself; WEB_CONCURRENCY sets its worker count.
CMD ["uvicorn", "--factory", "service.main:app_from_environment", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "20"]
