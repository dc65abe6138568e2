"""The serving contract: what the exporter, the Triton models, the gateway and training agree on.

Dependency-light on purpose (numpy and Pillow only), so the gateway image and the Triton Python
models can import it without torch or the training code.
"""
