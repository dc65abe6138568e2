"""Fixtures of the official-import tests."""

import pytest

from .images import assorted_images


@pytest.fixture(scope="session")
def images():
    return assorted_images()
