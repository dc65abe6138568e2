"""`helm lint --strict` and `helm template` must pass for the defaults and every example."""

from __future__ import annotations

import pytest

from .rendering import CHART_DIR, Case, example_files, helm, render


@pytest.mark.parametrize(
    "values_file", [None, *example_files()], ids=lambda p: getattr(p, "stem", "defaults")
)
def test_helm_lint_strict(values_file) -> None:
    args = ["lint", "--strict", str(CHART_DIR)]
    if values_file is not None:
        args += ["--values", str(values_file)]
    result = helm(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_examples_cover_the_documented_clusters() -> None:
    names = {path.stem for path in example_files()}
    assert {"cpu-only", "gpu-production", "external-redis", "tls"} <= names


def test_helm_template_renders_workloads(case: Case) -> None:
    kinds = {manifest["kind"] for manifest in render(case)}
    assert {"Deployment", "Service", "NetworkPolicy", "ServiceAccount"} <= kinds


def test_monitoring_objects_follow_the_cluster_api(case: Case) -> None:
    """ServiceMonitors and the PrometheusRule exist exactly when monitoring.coreos.com/v1 does."""
    manifests = render(case)
    kinds = [manifest["kind"] for manifest in manifests]
    bundled_redis = any(m["metadata"]["name"] == "asen-redis" for m in manifests)
    if case.monitoring_api:
        # gateway, Triton, and the bundled Redis' exporter
        assert kinds.count("ServiceMonitor") == 2 + bundled_redis
        assert kinds.count("PrometheusRule") == 1
    else:
        assert "ServiceMonitor" not in kinds
        assert "PrometheusRule" not in kinds


def test_helm_is_v3() -> None:
    result = helm("version", "--short")
    assert result.returncode == 0 and result.stdout.startswith("v3."), result.stdout
