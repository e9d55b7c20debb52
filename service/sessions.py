"""onnxruntime sessions for the bundled models (classifier and detectors), opened one way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnxruntime as ort

from service.model_files import decode_metadata


class ModelLoadError(RuntimeError):
    """The model file is missing, corrupt or lacks the metadata the service needs."""


def cpu_session(path: Path, threads: int, what: str = "model") -> ort.InferenceSession:
    """A sequential CPU session with ``threads`` intra-op threads; load failures name the file."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelLoadError(f"cannot load {what} {path}: {exc}") from exc


def metadata_of(session: ort.InferenceSession) -> dict[str, Any]:
    """The model file's ``metadata_props``, decoded (``service.model_files``)."""
    return decode_metadata(session.get_modelmeta().custom_metadata_map)
