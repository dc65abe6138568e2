"""The PrometheusRule as rendered, checked by the real promtool: syntax (`check rules`) and
behaviour (`test rules` with promtool/alerts.test.yaml: each alert fires when it should and
stays silent when it should)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .rendering import MONITORING_API, Case, helm, of_kind, render, template_args
from .tools import promtool_path

UNIT_TESTS = Path(__file__).parent / "promtool" / "alerts.test.yaml"
MONITORED = Case("defaults+monitoring", None, True)
REQUIRED_ALERTS = {
    "AsenGatewayHighErrorRatio",
    "AsenGatewayHighLatencyP99",
    "AsenCacheHitRatioCollapsed",
    "AsenTritonQueueTimeHigh",
    "AsenNoReadyTritonPod",
    "AsenRedisUnreachable",
}


def rule_groups(manifests: list[dict]) -> list[dict]:
    (rule,) = of_kind(manifests, "PrometheusRule")
    return rule["spec"]["groups"]


def alert_names(groups: list[dict]) -> set[str]:
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool_path(), *args], capture_output=True, text=True, timeout=60, check=False
    )


def write_rules(directory: Path, groups: list[dict]) -> None:
    """Lay out rules.yaml next to a copy of the unit tests, which name it relatively."""
    (directory / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    shutil.copy(UNIT_TESTS, directory / UNIT_TESTS.name)


def test_rule_covers_the_required_alerts() -> None:
    assert alert_names(rule_groups(render(MONITORED))) == REQUIRED_ALERTS


def test_promtool_check_rules(tmp_path: Path) -> None:
    write_rules(tmp_path, rule_groups(render(MONITORED)))
    result = promtool("check", "rules", str(tmp_path / "rules.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        f"SUCCESS: {sum(len(g['rules']) for g in rule_groups(render(MONITORED)))} rules found"
        in (result.stdout + result.stderr)
    )


def test_promtool_unit_tests_pass(tmp_path: Path) -> None:
    write_rules(tmp_path, rule_groups(render(MONITORED)))
    result = promtool("test", "rules", str(tmp_path / UNIT_TESTS.name))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    cases = [
        check
        for test in yaml.safe_load(UNIT_TESTS.read_text())["tests"]
        for check in test.get("alert_rule_test", [])
    ]
    for alert in REQUIRED_ALERTS:
        checks = [c for c in cases if c["alertname"] == alert]
        assert any(c["exp_alerts"] for c in checks), f"{alert} is never expected to fire"
        assert any(not c["exp_alerts"] for c in checks), f"{alert} is never expected to be silent"


@pytest.mark.parametrize(
    "override",
    [
        "monitoring.prometheusRule.alerts.tritonQueueTimeMs=1000",
        "monitoring.prometheusRule.alerts.errorRatio=0.5",
    ],
)
def test_unit_tests_notice_a_changed_threshold(tmp_path: Path, override: str) -> None:
    """Guards the unit tests: with a threshold moved past the test data, they must fail."""
    result = helm(*template_args(None, monitoring_api=True), "--set-json", override)
    assert result.returncode == 0, result.stderr
    assert MONITORING_API in result.stdout
    write_rules(tmp_path, rule_groups([d for d in yaml.safe_load_all(result.stdout) if d]))
    assert promtool("test", "rules", str(tmp_path / UNIT_TESTS.name)).returncode != 0
