"""Attention pictures with the attributes' ground-truth regions drawn in."""

import numpy as np
import pytest
from PIL import Image

from asen.visualize.attention import save_attention_grid


def test_regions_are_drawn_dashed_green(tmp_path):
    image = Image.new("RGB", (64, 64), (255, 255, 255))
    attention = np.zeros((4, 4), dtype=np.float32)
    attention[0, 0] = 1.0
    args = (image, [attention, attention], [(0, 0, 32, 32), None], ["a", "b"])
    plain = save_attention_grid(*args, tmp_path / "plain.png", columns=2)
    boxed = save_attention_grid(
        *args, tmp_path / "boxed.png", columns=2, regions=[[(40, 40, 60, 60)], []]
    )
    a = np.asarray(Image.open(plain).convert("RGB"), dtype=int)
    b = np.asarray(Image.open(boxed).convert("RGB"), dtype=int)
    changed = np.abs(a - b).sum(axis=2) > 0
    assert changed.any()
    # The new pixels are green (lime) and lie in the first panel only.
    assert (b[changed][:, 1] > b[changed][:, 0]).mean() > 0.8
    assert not changed[:, a.shape[1] // 2 :].any()
    with pytest.raises(ValueError):
        save_attention_grid(*args, tmp_path / "x.png", regions=[[]])
