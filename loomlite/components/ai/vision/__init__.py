"""Image backends on real models: OCR with PP-OCR weights, face detection with
OpenCV's Haar cascade, and a describer that turns both into tags.

The modules import OpenCV, onnxruntime or rapidocr at the top, so only the
backend registry imports them, after it has checked that the extra is installed.
"""
