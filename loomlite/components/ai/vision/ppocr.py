"""OCR with the PP-OCR detection and recognition models bundled in rapidocr,
run on onnxruntime."""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import rapidocr
from rapidocr.utils.output import RapidOCROutput

from loomlite.components.ai.ocr import EMPTY_RESULT, OcrLine, OcrResult
from loomlite.components.ai.vision.decode import (
    DEFAULT_MAX_PIXELS,
    decode_image,
    quiet_opencv,
)
from loomlite.components.ai.vision.reading_order import TextBox, group_rows, join_rows
from loomlite.errors import ConfigurationError

__all__ = ["RapidOcrRecognizer"]

logger = logging.getLogger(__name__)

# The model files in the rapidocr 3.10 wheel. rapidocr downloads a default
# model whose file is missing or whose SHA-256 differs, unless the path of
# every model is given, so the backend always passes these paths.
_DETECTION_MODEL: Final = "PP-OCRv6_det_small.onnx"
_RECOGNITION_MODEL: Final = "PP-OCRv6_rec_small.onnx"
_ORIENTATION_MODEL: Final = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"


class RapidOcrRecognizer:
    """Reads text with PP-OCRv6 small models (Apache-2.0) through rapidocr.

    The detector finds text boxes, and the recogniser reads each box with a
    confidence. Boxes below ``min_confidence`` are dropped, and the rest are
    sorted into rows (top to bottom, then left to right). Each box becomes one
    OcrLine, and the text joins the boxes of a row with spaces and the rows
    with newlines. The overall confidence is the mean of the box confidences
    weighted by their character counts.

    ``threads`` sets onnxruntime's intra-op threads; None lets onnxruntime
    choose. ``use_angle_classifier`` runs an extra model that turns text
    upside down when it is read as rotated by 180 degrees; screenshots do not
    need it. Undecodable or oversized images raise ImageFormatError.
    """

    name = "rapidocr"
    simulated = False

    def __init__(
        self,
        *,
        threads: int | None = None,
        min_confidence: float = 0.5,
        use_angle_classifier: bool = False,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        if threads is not None and not 1 <= threads <= 256:
            raise ValueError(f"threads {threads!r} is out of range; expected 1-256")
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(
                f"min_confidence {min_confidence!r} is out of range; expected 0-1"
            )
        if max_pixels < 1:
            raise ValueError(f"max_pixels must be 1 or more, got {max_pixels!r}")
        self.min_confidence = min_confidence
        self.max_pixels = max_pixels
        # NOTE: RapidOCR builds its onnxruntime sessions without releasing
        # the GIL, about 0.3 s on two cores. `loomlite up` therefore loads
        # model backends before the pipeline starts, but an ai component
        # that restarts loads this again and blocks the event loop that long.
        self._engine = rapidocr.RapidOCR(
            params=_engine_params(threads, min_confidence, use_angle_classifier)
        )
        # RapidOCR.__call__ stores per-call options on the engine, so
        # concurrent calls could see each other's options.
        self._lock = threading.Lock()
        quiet_opencv()

    def recognize(self, image: bytes, format: str) -> OcrResult:
        """Return the text in ``image``, as the class docstring describes."""
        pixels = decode_image(image, format, max_pixels=self.max_pixels)
        boxes = self.detect_boxes(pixels)
        if not boxes:
            return EMPTY_RESULT

        rows = group_rows(boxes)
        lines = tuple(
            OcrLine(
                text=box.text,
                confidence=box.confidence,
                box=(box.x, box.y, box.width, box.height),
            )
            for row in rows
            for box in row
        )
        characters = sum(len(line.text) for line in lines)
        confidence = (
            sum(line.confidence * len(line.text) for line in lines) / characters
        )
        return OcrResult(text=join_rows(rows), lines=lines, confidence=confidence)

    def detect_boxes(self, pixels: npt.NDArray[np.uint8]) -> list[TextBox]:
        """Return the text boxes of a BGR image, in the order the model found them."""
        with self._lock:
            output = self._engine(pixels)
        if not isinstance(output, RapidOCROutput):
            raise TypeError(
                f"rapidocr returned {type(output).__name__}, expected RapidOCROutput"
            )
        if output.txts is None or output.boxes is None or output.scores is None:
            return []

        boxes: list[TextBox] = []
        for polygon, text, score in zip(
            output.boxes, output.txts, output.scores, strict=True
        ):
            confidence = float(score)
            if not text.strip() or confidence < self.min_confidence:
                continue
            boxes.append(_text_box(polygon, text.strip(), confidence))
        return boxes


def _engine_params(
    threads: int | None, min_confidence: float, use_angle_classifier: bool
) -> dict[str, Any]:
    models = Path(rapidocr.__file__).resolve().parent / "models"
    paths = {}
    for key, file_name in (
        ("Det.model_path", _DETECTION_MODEL),
        ("Rec.model_path", _RECOGNITION_MODEL),
        ("Cls.model_path", _ORIENTATION_MODEL),
    ):
        path = models / file_name
        if not path.is_file():
            raise ConfigurationError(
                f"the rapidocr model file {path} is missing; reinstall it with "
                f"pip install --force-reinstall 'loomlite[ocr]'",
                key="ocr.backend",
            )
        paths[key] = str(path)

    # -1 is rapidocr's value for "let onnxruntime choose".
    thread_count = threads if threads is not None else -1
    return {
        **paths,
        "Global.log_level": "warning",
        "Global.text_score": min_confidence,
        "Global.use_cls": use_angle_classifier,
        "EngineConfig.onnxruntime.intra_op_num_threads": thread_count,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }


def _text_box(polygon: npt.NDArray[Any], text: str, confidence: float) -> TextBox:
    """Return the axis-aligned box around a detected quadrilateral."""
    xs = polygon[:, 0]
    ys = polygon[:, 1]
    left = max(0, math.floor(float(xs.min())))
    top = max(0, math.floor(float(ys.min())))
    right = math.ceil(float(xs.max()))
    bottom = math.ceil(float(ys.max()))
    return TextBox(
        text=text,
        confidence=min(1.0, max(0.0, confidence)),
        x=left,
        y=top,
        width=max(1, right - left),
        height=max(1, bottom - top),
    )
