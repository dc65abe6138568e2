"""Every metric the alerts, the dashboard and the autoscaler rules query must exist.

Gateway names are compared with what the gateway really registers (gateway.metrics, in
prometheus_client's default REGISTRY); Triton names with the metrics Triton serves on port 8002.
A renamed metric would otherwise leave an alert that can never fire.
"""

from __future__ import annotations

import json
import re

import yaml
from prometheus_client import REGISTRY

from .rendering import ADAPTER_VALUES, CHART_DIR, Case, of_kind, render

METRIC = re.compile(r"\b(?:asen_gateway|nv|redis)_[a-z0-9_]+\b")
DASHBOARD = CHART_DIR / "files" / "dashboards" / "asen-overview.json"
# Metrics Triton exposes (names from Triton's metrics documentation).
TRITON_METRICS = {
    "nv_inference_request_success",
    "nv_inference_request_failure",
    "nv_inference_count",
    "nv_inference_exec_count",
    "nv_inference_request_duration_us",
    "nv_inference_queue_duration_us",
    "nv_inference_compute_input_duration_us",
    "nv_inference_compute_infer_duration_us",
    "nv_inference_compute_output_duration_us",
    "nv_inference_pending_request_count",
    "nv_gpu_utilization",
    "nv_gpu_memory_total_bytes",
    "nv_gpu_memory_used_bytes",
    "nv_gpu_power_usage",
}
# Metrics of the bundled Redis' exporter sidecar (oliver006/redis_exporter) the alerts use.
REDIS_EXPORTER_METRICS = {"redis_up"}
SAMPLE_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


def gateway_sample_names() -> set[str]:
    """Sample names the gateway exports: a counter `x` is scraped as `x_total`, and so on."""
    import gateway.metrics  # noqa: F401  (registers the collectors)

    return {
        family.name + suffix
        for family in REGISTRY.collect()
        if family.name.startswith("asen_gateway_")
        for suffix in SAMPLE_SUFFIXES.get(family.type, ("",))
    }


def names_in(texts: list[str]) -> set[str]:
    return {name for text in texts for name in METRIC.findall(text)}


def rule_exprs() -> list[str]:
    (rule,) = of_kind(render(Case("defaults+monitoring", None, True)), "PrometheusRule")
    return [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def adapter_queries() -> list[str]:
    rules = yaml.safe_load(ADAPTER_VALUES.read_text())["rules"]["custom"]
    return [rule[key] for rule in rules for key in ("seriesQuery", "metricsQuery")]


def used_names() -> set[str]:
    return names_in(rule_exprs() + dashboard_exprs() + adapter_queries())


def test_extraction_finds_both_families() -> None:
    used = used_names()
    assert any(n.startswith("asen_gateway_") for n in used)
    assert any(n.startswith("nv_") for n in used)


def test_gateway_metric_names_exist_in_the_gateway() -> None:
    exported = gateway_sample_names()
    used = {n for n in used_names() if n.startswith("asen_gateway_")}
    assert used - exported == set(), f"not exported by gateway.metrics: {sorted(used - exported)}"


def test_triton_metric_names_exist_in_triton() -> None:
    used = {n for n in used_names() if n.startswith("nv_")}
    assert used - TRITON_METRICS == set()


def test_dashboard_shows_every_gateway_metric() -> None:
    exported_families = {
        re.sub(r"_(total|bucket|sum|count)$", "", n) for n in gateway_sample_names()
    }
    shown = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in names_in(dashboard_exprs())}
    assert exported_families - shown == set()


def test_the_rendered_dashboard_is_the_shipped_file() -> None:
    (config_map,) = [
        m
        for m in of_kind(render(Case("defaults", None, False)), "ConfigMap")
        if "asen-overview.json" in m["data"]
    ]
    assert json.loads(config_map["data"]["asen-overview.json"]) == json.loads(DASHBOARD.read_text())


def test_redis_metric_names_exist_in_the_exporter() -> None:
    used = {n for n in used_names() if n.startswith("redis_")}
    assert used and used - REDIS_EXPORTER_METRICS == set()
