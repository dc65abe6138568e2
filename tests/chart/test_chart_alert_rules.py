"""The PrometheusRule as rendered, checked by the real promtool: syntax (`check rules`) and
behaviour (`test rules` with promtool/alerts.test.yaml: each alert fires when it should and
stays silent when it should)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .rendering import CHART_DIR, MONITORING_API, Case, helm, of_kind, render, template_args
from .tools import REPO_ROOT, promtool_path

UNIT_TESTS = Path(__file__).parent / "promtool" / "alerts.test.yaml"
MONITORED = Case("defaults+monitoring", None, True)
REQUIRED_ALERTS = {
    "AsenAvailabilityBudgetBurnFast",
    "AsenAvailabilityBudgetBurnSlow",
    "AsenLatencyBudgetBurnFast",
    "AsenLatencyBudgetBurnSlow",
    "AsenStreamItemErrorRatio",
    "AsenGatewayAbsent",
    "AsenGatewayTargetDown",
    "AsenTritonTargetDown",
    "AsenRedisTargetDown",
    "AsenRedisDown",
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
        "monitoring.prometheusRule.slo.availability.objective=0.9",
        'monitoring.prometheusRule.slo.latency.thresholdSeconds="2.5"',
        "monitoring.prometheusRule.alerts.streamItemErrorRatio=0.2",
    ],
)
def test_unit_tests_notice_a_changed_threshold(tmp_path: Path, override: str) -> None:
    """Guards the unit tests: with a threshold moved past the test data, they must fail."""
    result = helm(*template_args(None, monitoring_api=True), "--set-json", override)
    assert result.returncode == 0, result.stderr
    assert MONITORING_API in result.stdout
    write_rules(tmp_path, rule_groups([d for d in yaml.safe_load_all(result.stdout) if d]))
    assert promtool("test", "rules", str(tmp_path / UNIT_TESTS.name)).returncode != 0


def runbook_anchors() -> set[str]:
    """GitHub-style anchors of the second-level headings of docs/runbooks.md."""
    text = (REPO_ROOT / "docs" / "runbooks.md").read_text()
    return {line[3:].strip().lower() for line in text.splitlines() if line.startswith("## ")}


def test_every_alert_links_to_its_runbook_section() -> None:
    anchors = runbook_anchors()
    for group in rule_groups(render(MONITORED)):
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            url = rule["annotations"]["runbook_url"]
            base, _, anchor = url.partition("#")
            assert base == "docs/runbooks.md", url
            assert anchor == rule["alert"].lower() and anchor in anchors, rule["alert"]


def test_runbook_base_url_is_configurable() -> None:
    result = helm(
        *template_args(None, monitoring_api=True),
        "--set",
        "monitoring.prometheusRule.runbookBaseUrl=https://docs.example.com/runbooks",
    )
    assert result.returncode == 0, result.stderr
    groups = rule_groups([d for d in yaml.safe_load_all(result.stdout) if d])
    urls = {r["annotations"]["runbook_url"] for g in groups for r in g["rules"] if "alert" in r}
    assert all(url.startswith("https://docs.example.com/runbooks#asen") for url in urls)


def test_slo_latency_threshold_is_a_bucket_the_gateway_writes() -> None:
    """The latency SLO counts calls under one `le` bucket; the schema lists exactly the bounds
    gateway.metrics uses, written as prometheus_client writes them."""
    from prometheus_client.utils import floatToGoString

    from gateway.metrics import REQUEST_DURATION

    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    slo = schema["properties"]["monitoring"]["properties"]["prometheusRule"]["properties"]["slo"]
    allowed = slo["properties"]["latency"]["properties"]["thresholdSeconds"]["enum"]
    buckets = [floatToGoString(b) for b in REQUEST_DURATION._upper_bounds if b != float("inf")]
    assert allowed == buckets
