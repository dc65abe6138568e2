"""Component contracts in the rendered output: Triton, gateway, Redis, autoscaling, disruption."""

from __future__ import annotations

import yaml

from gateway.health import CHECKS

from .rendering import ADAPTER_VALUES, EXAMPLES_DIR, Case, of_kind, pod_templates, render

DEFAULTS = Case("defaults", None, False)
GATEWAY_ENV_CONTRACT = {
    "ASEN_GRPC_PORT", "ASEN_METRICS_PORT", "ASEN_DISCOVERY", "ASEN_TRITON_GRPC_PORT",
    "ASEN_REDIS_URL", "ASEN_CACHE_TTL_SECONDS", "ASEN_MAX_CANDIDATES", "ASEN_MAX_IN_FLIGHT",
    "ASEN_MAX_MESSAGE_BYTES", "ASEN_MAX_IMAGE_PIXELS", "ASEN_LOG_LEVEL",
}  # fmt: skip
# Liveness and startup must not depend on Triton (a fresh install loads models for minutes).
PROBE_CHECKS = {
    "startupProbe": "liveness",
    "livenessProbe": "liveness",
    "readinessProbe": "readiness",
}


def example(name: str) -> Case:
    return Case(name, EXAMPLES_DIR / f"{name}.yaml", True)


def workload(manifests: list[dict], component: str) -> dict:
    return next(
        m
        for m in of_kind(manifests, "Deployment")
        if m["metadata"]["labels"]["app.kubernetes.io/component"] == component
    )


def container(manifests: list[dict], component: str) -> dict:
    return workload(manifests, component)["spec"]["template"]["spec"]["containers"][0]


def env_of(container_spec: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container_spec.get("env", [])}


def test_triton_probes_use_health_endpoints(case: Case) -> None:
    triton = container(render(case), "triton")
    ports = {p["name"]: p["containerPort"] for p in triton["ports"]}
    if "--allow-http=false" in triton["args"]:
        assert ports == {"grpc": 8001, "metrics": 8002}
        # Triton answers the gRPC health service with its ready state
        assert triton["readinessProbe"]["grpc"] == {"port": 8001}
        assert triton["startupProbe"]["grpc"] == {"port": 8001}
        assert triton["livenessProbe"]["tcpSocket"] == {"port": "grpc"}
    else:
        assert "--http-port=8000" in triton["args"]
        assert ports == {"http": 8000, "grpc": 8001, "metrics": 8002}
        assert triton["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
        assert triton["startupProbe"]["httpGet"]["path"] == "/v2/health/ready"
        assert triton["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert "--model-control-mode=none" in triton["args"]


def test_triton_http_is_off_unless_asked_for() -> None:
    defaults = render(DEFAULTS)
    assert "--allow-http=false" in container(defaults, "triton")["args"]
    for service in of_kind(defaults, "Service"):
        assert 8000 not in {p["port"] for p in service["spec"]["ports"]}
    cpu = render(example("cpu-only"))
    assert "--http-port=8000" in container(cpu, "triton")["args"]
    (triton_service,) = [
        s for s in of_kind(cpu, "Service") if s["metadata"]["name"] == "asen-triton"
    ]
    assert {p["name"] for p in triton_service["spec"]["ports"]} == {"http", "grpc", "metrics"}


def test_triton_has_in_memory_dev_shm(case: Case) -> None:
    manifests = render(case)
    pod = workload(manifests, "triton")["spec"]["template"]["spec"]
    (shm,) = [v for v in pod["volumes"] if v["name"] == "dshm"]
    assert shm["emptyDir"]["medium"] == "Memory"
    assert shm["emptyDir"]["sizeLimit"]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["/dev/shm"] == "dshm"


def test_triton_gpu_scheduling_follows_values() -> None:
    gpu = container(render(example("gpu-production")), "triton")
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == 1
    pod = workload(render(example("gpu-production")), "triton")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    assert "--allow-gpu-metrics=true" in gpu["args"]
    cpu = container(render(example("cpu-only")), "triton")
    assert "nvidia.com/gpu" not in cpu["resources"]["limits"]
    assert "--allow-gpu-metrics=false" in cpu["args"]


def test_triton_model_repository_source() -> None:
    s3 = container(render(example("gpu-production")), "triton")
    assert "--model-repository=s3://example-asen-models/production" in s3["args"]
    assert s3["envFrom"] == [{"secretRef": {"name": "asen-model-bucket"}}]
    manifests = render(example("cpu-only"))
    volume = container(manifests, "triton")
    assert "--model-repository=/models" in volume["args"]
    pod = workload(manifests, "triton")["spec"]["template"]["spec"]
    (models,) = [v for v in pod["volumes"] if v["name"] == "models"]
    assert models["persistentVolumeClaim"]["claimName"] == "asen-models"


def test_triton_terminates_gracefully(case: Case) -> None:
    manifests = render(case)
    pod = workload(manifests, "triton")["spec"]["template"]["spec"]
    triton = pod["containers"][0]
    exit_timeout = next(
        int(a.split("=")[1]) for a in triton["args"] if a.startswith("--exit-timeout-secs=")
    )
    sleep = int(triton["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > exit_timeout + sleep
    strategy = workload(manifests, "triton")["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0, "GPU capacity must not drop during a rollout"


def test_gateway_contract(case: Case) -> None:
    manifests = render(case)
    gateway = container(manifests, "gateway")
    assert gateway["command"] == ["python", "-m", "gateway"]
    assert set(env_of(gateway)) >= GATEWAY_ENV_CONTRACT
    tls = "ASEN_TLS_CERT" in env_of(gateway)
    for probe, check in PROBE_CHECKS.items():
        if tls:  # the kubelet's gRPC probe speaks plaintext only: the exec probe speaks TLS
            assert gateway[probe]["exec"]["command"] == ["python", "-m", "gateway.probe", check]
            assert "tcpSocket" not in gateway[probe] and "grpc" not in gateway[probe]
        else:
            assert gateway[probe]["grpc"] == {"port": 50051, "service": CHECKS[check]}
        assert gateway[probe]["timeoutSeconds"] >= 3, "an exec probe starts a Python process"
    assert {p["name"]: p["containerPort"] for p in gateway["ports"]} == {
        "grpc": 50051,
        "metrics": 9095,
    }


def test_gateway_discovers_the_headless_triton_service() -> None:
    manifests = render(DEFAULTS)
    env = env_of(container(manifests, "gateway"))
    assert env["ASEN_DISCOVERY"]["value"] == "kubernetes"
    assert env["ASEN_K8S_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    headless = [
        s
        for s in of_kind(manifests, "Service")
        if s["spec"].get("clusterIP") == "None"
        and s["spec"]["selector"]["app.kubernetes.io/component"] == "triton"
    ]
    assert [s["metadata"]["name"] for s in headless] == [env["ASEN_K8S_SERVICE"]["value"]]


def test_gateway_has_a_headless_service_for_client_side_balancing() -> None:
    (headless,) = [
        s
        for s in of_kind(render(DEFAULTS), "Service")
        if s["metadata"]["name"] == "asen-gateway-headless"
    ]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"]["app.kubernetes.io/component"] == "gateway"
    assert [p["name"] for p in headless["spec"]["ports"]] == ["grpc"]


def test_gateway_spreads_across_nodes() -> None:
    soft = workload(render(DEFAULTS), "gateway")["spec"]["template"]["spec"]["affinity"]
    assert soft["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    hard = workload(render(example("gpu-production")), "gateway")["spec"]["template"]["spec"]
    (term,) = hard["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"


def test_tls_and_api_keys_are_mounted_from_secrets() -> None:
    manifests = render(example("tls"))
    pod = workload(manifests, "gateway")["spec"]["template"]["spec"]
    env = env_of(pod["containers"][0])
    assert env["ASEN_TLS_CERT"]["value"] == "/etc/asen/tls/tls.crt"
    assert env["ASEN_TLS_KEY"]["value"] == "/etc/asen/tls/tls.key"
    assert env["ASEN_TLS_CLIENT_CA"]["value"] == "/etc/asen/tls/ca.crt"
    assert env["ASEN_API_KEYS_FILE"]["value"] == "/etc/asen/api-keys/api-keys.txt"
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert secrets == {"tls": "asen-gateway-tls", "api-keys": "asen-api-keys"}
    plain = env_of(container(render(DEFAULTS), "gateway"))
    assert not {"ASEN_TLS_CERT", "ASEN_TLS_CLIENT_CA", "ASEN_API_KEYS_FILE"} & set(plain)


def test_bundled_redis_requires_auth_and_is_a_cache() -> None:
    manifests = render(DEFAULTS)
    redis = container(manifests, "redis")
    args = redis["args"]
    assert args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    assert args[args.index("--maxmemory-policy") + 1] == "allkeys-lru"
    assert args[args.index("--appendonly") + 1] == "no", "persistence is off by default"
    assert not of_kind(manifests, "PersistentVolumeClaim")
    assert not of_kind(manifests, "Secret"), "the password Secret is the user's"
    gateway_env = env_of(container(manifests, "gateway"))
    assert gateway_env["ASEN_REDIS_URL"]["value"] == "redis://asen-redis:6379/0"
    ref = gateway_env["ASEN_REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "asen-redis-auth", "key": "redis-password"}
    assert env_of(redis)["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == ref


def test_external_redis_replaces_the_bundled_one() -> None:
    manifests = render(example("external-redis"))
    components = {
        t["metadata"]["labels"]["app.kubernetes.io/component"] for _, t in pod_templates(manifests)
    }
    assert components == {"gateway", "triton"}
    env = env_of(container(manifests, "gateway"))
    assert env["ASEN_REDIS_URL"]["value"].startswith("rediss://")
    assert env["ASEN_REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "asen-external-redis"


def hpas(case: Case) -> dict[str, dict]:
    return {
        h["spec"]["scaleTargetRef"]["name"]: h
        for h in of_kind(render(case), "HorizontalPodAutoscaler")
    }


def adapter_metric_names() -> set[str]:
    rules = yaml.safe_load(ADAPTER_VALUES.read_text())["rules"]["custom"]
    return {rule["name"]["as"] for rule in rules}


def test_autoscaling_uses_v2_and_adapter_metrics() -> None:
    scalers = hpas(example("gpu-production"))
    assert set(scalers) == {"asen-gateway", "asen-triton"}
    custom = set()
    for hpa in scalers.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        custom |= {
            m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"
        }
    gateway_types = {m["type"] for m in scalers["asen-gateway"]["spec"]["metrics"]}
    assert gateway_types == {"Resource", "Pods"}, "gateway scales on CPU and requests per second"
    assert custom == adapter_metric_names(), "every custom metric needs a prometheus-adapter rule"


def test_triton_scaling_is_tuned_for_slow_gpu_start() -> None:
    behavior = hpas(DEFAULTS)["asen-triton"]["spec"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 600
    assert behavior["scaleDown"]["policies"][0] == {
        "type": "Pods",
        "value": 1,
        "periodSeconds": 300,
    }
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] <= 120


def test_autoscaled_workloads_leave_replicas_to_the_hpa() -> None:
    manifests = render(DEFAULTS)
    for component in ("gateway", "triton"):
        assert "replicas" not in workload(manifests, component)["spec"]
    fixed = render(example("cpu-only"))
    assert not of_kind(fixed, "HorizontalPodAutoscaler")
    assert workload(fixed, "triton")["spec"]["replicas"] == 1


def test_disruption_budgets_never_block_a_drain(case: Case) -> None:
    manifests = render(case)
    for pdb in of_kind(manifests, "PodDisruptionBudget"):
        assert pdb["spec"]["maxUnavailable"] >= 1 and "minAvailable" not in pdb["spec"]
        component = pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        assert component in {"gateway", "triton"}


def test_gateway_terminates_gracefully(case: Case) -> None:
    """SIGTERM comes after the preStop sleep; the gateway then serves for the delay (health
    already NOT_SERVING) and drains for the grace; the kubelet must not kill it before."""
    pod = workload(render(case), "gateway")["spec"]["template"]["spec"]
    gateway = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in gateway["env"]}
    sleep = int(gateway["lifecycle"]["preStop"]["exec"]["command"][-1])
    delay = float(env["ASEN_SHUTDOWN_DELAY_SECONDS"])
    grace = float(env["ASEN_SHUTDOWN_GRACE_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] > sleep + delay + grace
