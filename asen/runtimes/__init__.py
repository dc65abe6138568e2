"""CPU inference runtimes for the exported branch graphs: onnxruntime and OpenVINO sessions with
one interface, INT8 post-training quantization calibrated on data-set images, and the precision
checks (float32 parity, INT8 and FP16 cost) that decide what a target may serve."""
