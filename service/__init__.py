"""Facial emotion recognition service: FastAPI + onnxruntime + OpenCV."""

__version__ = "0.1.0"
