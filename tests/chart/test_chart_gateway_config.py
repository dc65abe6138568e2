"""The gateway accepts the configuration the chart gives it.

The rendered environment of the gateway container is fed to the gateway's own loader
(gateway.config.GatewayConfig.load), so a renamed variable or a malformed value fails here
instead of in a crash-looping pod. Secrets become placeholders; file paths (TLS, API keys) must
lie under a mounted volume and are replaced by temporary files for the loader's existence check.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from gateway.config import GatewayConfig

from .rendering import NAMESPACE, Case, of_kind, render

FILE_VARIABLES = {"ASEN_TLS_CERT", "ASEN_TLS_KEY", "ASEN_TLS_CLIENT_CA", "ASEN_API_KEYS_FILE"}


def gateway_container(case: Case) -> dict:
    deployment = next(
        d
        for d in of_kind(render(case), "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "gateway"
    )
    return deployment["spec"]["template"]["spec"]["containers"][0]


def environment(container: dict, tmp_path: Path) -> dict[str, str]:
    mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
    env = {}
    for variable in container["env"]:
        name = variable["name"]
        if "value" in variable:
            env[name] = variable["value"]
        elif "fieldRef" in variable["valueFrom"]:
            assert variable["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
            env[name] = NAMESPACE
        else:
            env[name] = "secret-from-" + variable["valueFrom"]["secretKeyRef"]["name"]
        if name in FILE_VARIABLES:
            assert any(env[name].startswith(m + "/") for m in mounts), f"{name} is not mounted"
            stand_in = tmp_path / name
            stand_in.write_text("stand-in\n")
            env[name] = str(stand_in)
    return env


def test_chart_sets_only_variables_the_gateway_reads(case: Case, tmp_path: Path) -> None:
    known = {f.metadata["env"] for f in fields(GatewayConfig)}
    env = environment(gateway_container(case), tmp_path)
    # gateway.extraEnv may add the user's own variables (SSL_CERT_FILE, ...); ASEN_* are ours
    assert {name for name in env if name.startswith("ASEN_")} - known == set()


def test_gateway_loads_the_rendered_configuration(case: Case, tmp_path: Path) -> None:
    env = environment(gateway_container(case), tmp_path)
    config = GatewayConfig.load(env=env)
    assert config.grpc_port == 50051 and config.metrics_port == 9095
    # in a pod the kubelet and the Service reach the pod's IP, not its loopback
    assert config.grpc_host == config.metrics_host == "0.0.0.0"
    assert config.max_connection_age_seconds == 300  # long-lived clients reach new pods
    assert config.discovery == env["ASEN_DISCOVERY"]
    assert bool(config.tls_client_ca) == ("ASEN_TLS_CLIENT_CA" in env)
    # the hot path's settings reach the pod from values (defaults equal the gateway's own)
    defaults = GatewayConfig()
    assert config.event_loop == env["ASEN_EVENT_LOOP"] in ("uvloop", "asyncio")
    assert config.hot_entries == int(env["ASEN_HOT_ENTRIES"]) >= 0
    assert config.hot_entry_seconds == float(env["ASEN_HOT_ENTRY_SECONDS"]) > 0
    if case.values_file is None:
        assert (config.event_loop, config.hot_entries, config.hot_entry_seconds) == (
            defaults.event_loop,
            defaults.hot_entries,
            defaults.hot_entry_seconds,
        )
