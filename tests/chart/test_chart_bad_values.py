"""Bad values must fail at install time with a message naming the problem.

Each file in bad_values/ starts with `# expect: <text>`; `helm template` must fail and its error
must contain that text (from values.schema.json, or the chart's cross-field checks).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .rendering import helm, template_args

BAD_VALUES = sorted((Path(__file__).parent / "bad_values").glob("*.yaml"))


def expected_message(path: Path) -> str:
    first_line = path.read_text().splitlines()[0]
    assert first_line.startswith("# expect: "), f"{path.name} must start with '# expect: '"
    return first_line.removeprefix("# expect: ").strip()


def test_there_are_bad_values_cases() -> None:
    assert len(BAD_VALUES) >= 10


@pytest.mark.parametrize("values_file", BAD_VALUES, ids=lambda p: p.stem)
def test_bad_values_fail_with_a_clear_message(values_file: Path) -> None:
    result = helm(*template_args(values_file, monitoring_api=True))
    assert result.returncode != 0, f"{values_file.name} was accepted:\n{result.stdout[:500]}"
    assert expected_message(values_file) in result.stderr, result.stderr


def test_good_values_still_render() -> None:
    """Guards the test above: the same command succeeds without the bad file."""
    result = helm(*template_args(None, monitoring_api=True))
    assert result.returncode == 0, result.stderr
