"""The optional KEDA ScaledObject for the Triton pool (autoscaling.engine: keda): it replaces
the Triton HPA, targets the Triton Deployment, and its Prometheus query is valid PromQL (checked
by the real promtool) over metrics Triton exports."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from .rendering import EXAMPLES_DIR, Case, of_kind, render
from .test_chart_metric_names import TRITON_METRICS, names_in
from .tools import promtool_path

KEDA = Case("keda", EXAMPLES_DIR / "keda.yaml", False)


def scaled_object() -> dict:
    (scaled,) = of_kind(render(KEDA), "ScaledObject")
    return scaled


def test_keda_replaces_the_triton_hpa_only() -> None:
    manifests = render(KEDA)
    targets = {
        h["spec"]["scaleTargetRef"]["name"] for h in of_kind(manifests, "HorizontalPodAutoscaler")
    }
    assert targets == {"asen-gateway"}, "KEDA owns the Triton HPA"
    gateway_hpa = of_kind(manifests, "HorizontalPodAutoscaler")[0]
    assert {m["type"] for m in gateway_hpa["spec"]["metrics"]} == {"Resource"}
    spec = scaled_object()["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "asen-triton",
    }
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 8)
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "Value"
    assert trigger["metadata"]["threshold"] == "20"


def test_default_engine_renders_no_scaledobject(case: Case) -> None:
    if case.values_file == KEDA.values_file:
        return
    assert not of_kind(render(case), "ScaledObject")


def test_the_keda_query_is_promql_over_triton_metrics(tmp_path: Path) -> None:
    query = scaled_object()["spec"]["triggers"][0]["metadata"]["query"]
    assert names_in([query]) <= TRITON_METRICS and names_in([query])
    assert 'namespace="asen"' in query and 'pod=~"asen-triton-.*"' in query
    rules = {"groups": [{"name": "keda", "rules": [{"record": "keda:query", "expr": query}]}]}
    path = tmp_path / "keda.yaml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(
        [promtool_path(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
