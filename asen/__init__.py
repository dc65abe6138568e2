"""ASEN++ attribute-specific fashion similarity: model library, export and serving tools."""

import os

# OpenMP's default busy-wait makes PyTorch's CPU kernels 10-40x slower whenever another process
# (a tritonserver, a data loader, a second job) holds one of a small machine's cores: the
# spinning threads burn their time slices waiting at barriers. Waiting passively costs little
# on an idle machine. It must be set before torch is first imported; a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
