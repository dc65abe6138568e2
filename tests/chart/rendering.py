"""Render the chart with the real helm binary, once per values combination (renders are cached)."""

from __future__ import annotations

import copy
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from .tools import REPO_ROOT, helm_path

CHART_DIR = REPO_ROOT / "helm" / "asen"
EXAMPLES_DIR = CHART_DIR / "examples"
ADAPTER_VALUES = REPO_ROOT / "helm" / "prometheus-adapter-values.yaml"
MONITORING_API = "monitoring.coreos.com/v1"
NAMESPACE = "asen"
RELEASE = "asen"


@dataclass(frozen=True)
class Case:
    """One way of installing the chart: a values file (or none) and the APIs the cluster serves."""

    name: str
    values_file: Path | None
    monitoring_api: bool

    def __str__(self) -> str:
        return self.name


def example_files() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.yaml"))


def all_cases() -> list[Case]:
    """Defaults plus every example, each with and without the Prometheus Operator API."""
    files: list[tuple[str, Path | None]] = [("defaults", None)]
    files += [(path.stem, path) for path in example_files()]
    return [
        Case(f"{name}{'+monitoring' if api else ''}", path, api)
        for name, path in files
        for api in (True, False)
    ]


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm_path()), *args], capture_output=True, text=True, timeout=60, check=False
    )


def template_args(values_file: Path | None, monitoring_api: bool) -> list[str]:
    args = ["template", RELEASE, str(CHART_DIR), "--namespace", NAMESPACE]
    if values_file is not None:
        args += ["--values", str(values_file)]
    if monitoring_api:
        args += ["--api-versions", MONITORING_API]
    return args


@cache
def render_text(case: Case) -> str:
    result = helm(*template_args(case.values_file, case.monitoring_api))
    assert result.returncode == 0, f"helm template failed for {case}:\n{result.stderr}"
    return result.stdout


@cache
def _parsed(case: Case) -> tuple[dict, ...]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(doc for doc in yaml.load_all(render_text(case), Loader=loader) if doc)


def render(case: Case) -> list[dict]:
    """The rendered manifests of a case, as dicts (a fresh copy: tests may mutate it)."""
    return copy.deepcopy(list(_parsed(case)))


def of_kind(manifests: list[dict], kind: str) -> list[dict]:
    return [m for m in manifests if m["kind"] == kind]


def pod_templates(manifests: list[dict]) -> list[tuple[str, dict]]:
    """(workload name, pod template) of every workload that creates pods."""
    workloads = ("Deployment", "StatefulSet", "DaemonSet", "Job")
    return [
        (m["metadata"]["name"], m["spec"]["template"]) for m in manifests if m["kind"] in workloads
    ]


def selects(selector: dict, labels: dict) -> bool:
    """Whether a matchLabels-style selector (a plain dict) matches the labels."""
    return all(labels.get(key) == value for key, value in selector.items())
