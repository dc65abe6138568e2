"""Rendered manifests validated against Kubernetes JSON schemas in strict mode.

Built-in kinds go through kubernetes-validate (strict: unknown fields fail); a kind it has no
schema for fails too. The Prometheus Operator kinds are checked against small schemas of the
fields this chart uses (crd_schemas/), written from the operator's CRD reference.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest

from .rendering import Case, render

# The chart's kubeVersion floor (native gRPC probes are GA there) and the newest schema shipped.
KUBERNETES_VERSIONS = ["1.27.0", kubernetes_validate.latest_version()]
CRD_SCHEMA_DIR = Path(__file__).parent / "crd_schemas"
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.schema.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.schema.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject.schema.json",
}


def validate_builtin(manifest: dict, version: str) -> None:
    kubernetes_validate.validate(manifest, version, strict=True)


def validate_crd(manifest: dict) -> None:
    schema_file = CRD_KINDS[(manifest["apiVersion"], manifest["kind"])]
    schema = json.loads((CRD_SCHEMA_DIR / schema_file).read_text())
    jsonschema.validate(manifest, schema)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_match_kubernetes_schemas(case: Case, version: str) -> None:
    failures = []
    for manifest in render(case):
        name = f"{manifest['kind']}/{manifest['metadata']['name']}"
        try:
            if (manifest["apiVersion"], manifest["kind"]) in CRD_KINDS:
                validate_crd(manifest)
            else:
                validate_builtin(manifest, version)
        except kubernetes_validate.SchemaNotFoundError:
            failures.append(f"{name}: no schema for this kind (list it in CRD_KINDS with one)")
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as error:
            failures.append(f"{name}: {error}")
    assert not failures, "\n".join(failures)


def test_strict_validation_rejects_unknown_fields() -> None:
    """Guards the check itself: a misspelt field must fail, not pass silently."""
    manifest = next(m for m in render(Case("defaults", None, False)) if m["kind"] == "Deployment")
    manifest["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_builtin(manifest, KUBERNETES_VERSIONS[-1])


def test_crd_schemas_reject_unknown_fields() -> None:
    manifests = render(Case("defaults+monitoring", None, True))
    monitor = next(m for m in manifests if m["kind"] == "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["intervall"] = "15s"
    with pytest.raises(jsonschema.ValidationError):
        validate_crd(monitor)
    rule = next(m for m in manifests if m["kind"] == "PrometheusRule")
    del rule["spec"]["groups"][0]["rules"][0]["expr"]
    with pytest.raises(jsonschema.ValidationError):
        validate_crd(rule)


def test_scaledobject_schema_rejects_unknown_fields() -> None:
    from .rendering import EXAMPLES_DIR

    manifests = render(Case("keda", EXAMPLES_DIR / "keda.yaml", False))
    scaled = next(m for m in manifests if m["kind"] == "ScaledObject")
    validate_crd(scaled)
    scaled["spec"]["triggers"][0]["metadata"]["threshold"] = 20  # KEDA wants strings
    with pytest.raises(jsonschema.ValidationError):
        validate_crd(scaled)
    del scaled["spec"]["triggers"][0]["metadata"]["threshold"]
    scaled["spec"]["maxReplicas"] = 8  # the HPA's spelling, not KEDA's
    with pytest.raises(jsonschema.ValidationError):
        validate_crd(scaled)
