"""CPU cost of each pre-/post-processing step of the cpu target, in process, per photo-sized image.

What the served ensemble pays on top of the bare graphs (docs/runtimes.md, "Served vs the bare
runtime's limit"), and the numbers behind the decode-once trade-off (docs/triton.md, "Why
roi_crop decodes the image again"): decoding a JPEG again in `roi_crop` against handing the
decoded pixels over (numpy array out of `preprocess`, copies through the Python backend's shared
memory, a PIL image again in `roi_crop`).

    .venv/bin/python loadtests/measure_preprocess_costs.py [--images 24] [--repeat 100]

Prints JSON: CPU milliseconds per call (process time, so other programs on a shared machine
count less than in wall-clock time), and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from PIL import Image
from triton_load import photo_jpegs

from asen_contract.images import decode_image
from asen_contract.preprocess import (
    center_crop,
    float_normalized_array,
    global_input,
    normalized_array,
    resize_shorter_side,
)
from asen_contract.roi import SquareBox, attention_boxes, box_in_source, local_input


def cpu_ms(function, items: list, repeat: int) -> float:
    function(items[0])  # warm-up
    started = time.process_time()
    for index in range(repeat):
        function(items[index % len(items)])
    return round((time.process_time() - started) * 1000 / repeat, 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    blobs = photo_jpegs(args.images)  # 600x800, 800x600, 750x1000
    decoded = [decode_image(data) for data in blobs]
    crops = [center_crop(resize_shorter_side(image, 224), 224) for image in decoded]
    arrays = [np.asarray(image) for image in decoded]
    rng = np.random.default_rng(0)
    attention = [rng.random((1, 14, 14), dtype=np.float32) for _ in range(8)]
    boxes = [box_in_source(SquareBox(56, 56, 112), image.size, 224) for image in decoded]
    pairs = list(zip(decoded, boxes, strict=True))
    repeat = args.repeat
    costs = {
        "decode_jpeg": cpu_ms(decode_image, blobs, repeat),
        "resize_shorter_side_224": cpu_ms(lambda i: resize_shorter_side(i, 224), decoded, repeat),
        "normalise_224_float_arithmetic": cpu_ms(float_normalized_array, crops, repeat),
        "normalise_224_table": cpu_ms(normalized_array, crops, repeat),
        "global_input": cpu_ms(lambda i: global_input(i, 224), decoded, repeat),
        "attention_box": cpu_ms(lambda a: attention_boxes(a, 224, 0.5).tolist(), attention, repeat),
        "local_input_half_size_box": cpu_ms(lambda p: local_input(p[0], p[1], 112), pairs, repeat),
        # handing the decoded image to roi_crop instead of decoding again:
        "decoded_to_numpy": cpu_ms(np.asarray, decoded, repeat),
        "copy_decoded_array": cpu_ms(np.copy, arrays, repeat),
        "numpy_to_pil": cpu_ms(Image.fromarray, arrays, repeat),
    }
    copies = 3  # into preprocess's shared memory, out of it in Triton, into roi_crop's
    hand_over = costs["decoded_to_numpy"] + copies * costs["copy_decoded_array"]
    hand_over += costs["numpy_to_pil"]
    report = {
        "cpu_ms_per_call": costs,
        "decode_once_estimate_ms": {
            "decode_again": costs["decode_jpeg"],
            "hand_over_decoded_pixels": round(hand_over, 3),
            "saved_per_image": round(costs["decode_jpeg"] - hand_over, 3),
        },
        "images": "photo-sized JPEGs (600x800, 800x600, 750x1000), quality 90",
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
