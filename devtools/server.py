"""Start the real service under uvicorn on a free port (tests, benchmarks and scripts)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devtools.paths import ROOT


def start_service(
    *extra_args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn serving the bundled model on a free port; returns once /readyz says ready.

    Output goes to a pipe the caller may read, or to ``log`` for long runs (a pipe nobody
    reads would fill up and stall the server). ``FER_SERVICE_PYTHON`` names the interpreter
    that has the service (the client-only venv of ``make client-test`` has not); default: this
    one.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    output = log.open("wb") if log is not None else subprocess.PIPE
    proc = subprocess.Popen(
        [os.environ.get("FER_SERVICE_PYTHON", sys.executable), "-m", "uvicorn", "--factory",
         "service.main:app_from_environment",
         "--port", str(port), *extra_args],
        cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/readyz", timeout=1).status == 200:
                return proc, url
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            text = proc.stdout.read().decode() if proc.stdout else log.read_text() if log else ""
            raise RuntimeError(f"service did not start: {text}")
        time.sleep(0.2)
