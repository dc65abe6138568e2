"""Put $PYTHONPATH in front of sys.path inside a Triton Python-backend stub.

The stub embeds an interpreter that ignores PYTHONPATH, so the packages the launcher names there
(numpy, torch, onnxruntime, Pillow of the serving environment) would be invisible, or shadowed by
the system's. Every model.py imports this module first: `import asen_runtime.pythonpath`.
"""

import os
import sys

for _entry in reversed([p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]):
    if _entry in sys.path:
        sys.path.remove(_entry)
    sys.path.insert(0, _entry)
