"""Writers of an `OpGraph` to runnable model files (ONNX first; needs the onnx extra)."""
