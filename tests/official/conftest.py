import pytest
import torch

from tests.official.images import assorted_images
from tests.official.official_oracle import global_transform
from tests.official.official_weights import official_state_dict, sharpen_attention

SMALL = dict(attr_size=16, embed=32, global_common=32, local_common=16, reduction=4)
SMALL_SIZES = dict(global_size=96, local_size=48)


@pytest.fixture(scope="session")
def images():
    return assorted_images()


def small_official_state(num_attributes, images, local_backbone="tiny", seed=0):
    """Small official-layout weights whose global attention has clear peaks on `images`."""
    state = official_state_dict(num_attributes, "tiny", local_backbone, seed=seed, **SMALL)
    inputs = torch.stack([global_transform(img, SMALL_SIZES["global_size"]) for img in images])
    sharpen_attention(state, "global", inputs)
    return state
