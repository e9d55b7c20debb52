"""Face detectors behind one interface (``base``), built from settings (``factory``): OpenCV's
Haar cascade (``haar``), and the ONNX ones (``blazeface``, ``yunet``) with what they share
(``onnx``)."""

from service.detectors.base import Detection, FaceDetector, Framing
from service.detectors.factory import build_detector

__all__ = ["Detection", "FaceDetector", "Framing", "build_detector"]
