"""Extension points platform teams expect, as rendered from examples/gpu-mig-extensions.yaml:
RuntimeClass, PriorityClass, topology spreading, extra volumes/mounts/env, pod labels, a
configurable GPU resource (MIG, time-slicing), images pinned by digest."""

from __future__ import annotations

from .rendering import EXAMPLES_DIR, Case, of_kind, render

EXTENDED = Case("gpu-mig-extensions", EXAMPLES_DIR / "gpu-mig-extensions.yaml", False)
DEFAULTS = Case("defaults", None, False)


def pod(case: Case, component: str) -> tuple[dict, dict]:
    """(pod template metadata, pod spec) of a component."""
    (deployment,) = [
        d
        for d in of_kind(render(case), "Deployment")
        if d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == component
    ]
    template = deployment["spec"]["template"]
    return template["metadata"], template["spec"]


def test_runtime_and_priority_classes() -> None:
    _, triton = pod(EXTENDED, "triton")
    assert triton["runtimeClassName"] == "nvidia"
    for component in ("gateway", "triton", "redis"):
        assert pod(EXTENDED, component)[1]["priorityClassName"] == "asen-serving"
    _, default = pod(DEFAULTS, "triton")
    assert "runtimeClassName" not in default and "priorityClassName" not in default


def test_spread_constraints_select_their_own_component() -> None:
    for component in ("gateway", "triton"):
        _, spec = pod(EXTENDED, component)
        (constraint,) = spec["topologySpreadConstraints"]
        assert constraint["topologyKey"] == "topology.kubernetes.io/zone"
        selector = constraint["labelSelector"]["matchLabels"]
        assert selector["app.kubernetes.io/component"] == component
        assert selector["app.kubernetes.io/instance"] == "asen"


def test_pod_labels_never_enter_the_selector() -> None:
    for component in ("gateway", "triton", "redis"):
        metadata, _ = pod(EXTENDED, component)
        assert metadata["labels"]["cost-center"] == "search"
    for deployment in of_kind(render(EXTENDED), "Deployment"):
        assert "cost-center" not in deployment["spec"]["selector"]["matchLabels"]


def test_extra_volumes_mounts_and_env() -> None:
    _, gateway = pod(EXTENDED, "gateway")
    container = gateway["containers"][0]
    assert {"name": "corporate-ca", "configMap": {"name": "corporate-ca"}} in gateway["volumes"]
    assert any(m["mountPath"] == "/etc/ssl/corporate" for m in container["volumeMounts"])
    assert {"name": "SSL_CERT_FILE", "value": "/etc/ssl/corporate/ca.crt"} in container["env"]
    _, triton = pod(EXTENDED, "triton")
    container = triton["containers"][0]
    assert any(v["name"] == "triton-cache" for v in triton["volumes"])
    assert any(m["mountPath"] == "/var/cache/triton" for m in container["volumeMounts"])
    assert {"name": "CUDA_MODULE_LOADING", "value": "LAZY"} in container["env"]


def test_gpu_resource_name_follows_values() -> None:
    _, triton = pod(EXTENDED, "triton")
    resources = triton["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/mig-3g.40gb"] == 1
    assert resources["requests"]["nvidia.com/mig-3g.40gb"] == 1
    assert "nvidia.com/gpu" not in resources["limits"]
    _, default = pod(DEFAULTS, "triton")
    assert default["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_images_pinned_by_digest() -> None:
    _, gateway = pod(EXTENDED, "gateway")
    assert gateway["containers"][0]["image"] == (
        "registry.example.com/asen/gateway:0.1.0@sha256:" + "1" * 64
    )
    _, triton = pod(EXTENDED, "triton")
    assert triton["containers"][0]["image"].endswith("@sha256:" + "2" * 64)
