"""Offline training package: FER-2013 -> fine-tuned MobileNet -> verified ONNX."""

__version__ = "0.1.0"
