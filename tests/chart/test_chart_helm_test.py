"""The `helm test` hook: a pod that runs `python -m gateway.probe readiness --list-attributes`
against the gateway's Service, with TLS, mutual TLS and an API key as configured. The probe
itself is tested against a real gateway in tests/gateway/test_gw_health_probe.py; here the
rendered command must parse with the probe's own argument parser and name mounted files."""

from __future__ import annotations

from pathlib import Path

from gateway.probe import build_parser

from .rendering import EXAMPLES_DIR, Case, of_kind, render


def hook_pod(case: Case) -> dict:
    pods = [
        p
        for p in of_kind(render(case), "Pod")
        if p["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"
    ]
    assert len(pods) == 1, f"{case}: expected one helm test pod"
    return pods[0]


def gateway_service(case: Case) -> dict:
    (service,) = [
        s for s in of_kind(render(case), "Service") if s["metadata"]["name"] == "asen-gateway"
    ]
    return service


def test_the_hook_asks_readiness_and_lists_attributes(case: Case) -> None:
    pod = hook_pod(case)
    (container,) = pod["spec"]["containers"]
    python, dash_m, module, *args = container["command"]
    assert (python, dash_m, module) == ("python", "-m", "gateway.probe")
    parsed = build_parser({}).parse_args(args)
    assert parsed.check == "readiness" and parsed.list_attributes
    port = gateway_service(case)["spec"]["ports"][0]["port"]
    assert parsed.address == f"asen-gateway.asen.svc:{port}"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert "before-hook-creation" in pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
    mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
    for path in (parsed.tls_server_cert, parsed.tls_cert, parsed.tls_key, parsed.api_key_file):
        if path is not None:
            assert any(str(path).startswith(m + "/") for m in mounts), f"{path} is not mounted"


def test_the_hook_speaks_mutual_tls_with_a_key_when_the_gateway_wants_them() -> None:
    pod = hook_pod(Case("tls", EXAMPLES_DIR / "tls.yaml", False))
    (container,) = pod["spec"]["containers"]
    parsed = build_parser({}).parse_args(container["command"][3:])
    assert parsed.tls_server_cert == Path("/etc/asen/tls/tls.crt")
    assert (parsed.tls_cert, parsed.tls_key) == (
        Path("/etc/asen/tls/tls.crt"),
        Path("/etc/asen/tls/tls.key"),
    )
    assert parsed.api_key_file == Path("/etc/asen/test-api-key/api-key")
    volumes = {v["name"]: v["secret"]["secretName"] for v in pod["spec"]["volumes"]}
    assert volumes == {"tls": "asen-gateway-tls", "test-api-key": "asen-test-api-key"}


def test_the_hook_pod_is_as_locked_down_as_the_gateway(case: Case) -> None:
    spec = hook_pod(case)["spec"]
    (container,) = spec["containers"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["automountServiceAccountToken"] is False
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
