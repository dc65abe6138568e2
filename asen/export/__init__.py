"""Export a checkpoint into a Triton model repository (ONNX branches + Python-backend models)."""
