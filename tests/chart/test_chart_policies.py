"""Policy checks over the rendered output of every case: what a reviewer would otherwise have
to verify by reading templates (resources, probes, non-root, pinned images, scraped metrics
ports, NetworkPolicy coverage, least-privilege RBAC)."""

from __future__ import annotations

from .rendering import Case, of_kind, pod_templates, render, selects

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def containers(manifests: list[dict]):
    for workload, template in pod_templates(manifests):
        spec = template["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield workload, spec, container


def test_every_container_has_requests_and_limits(case: Case) -> None:
    for workload, _, container in containers(render(case)):
        resources = container.get("resources", {})
        assert {"cpu", "memory"} <= set(resources.get("requests", {})), workload
        assert "memory" in resources.get("limits", {}), workload


def test_every_container_has_three_probes(case: Case) -> None:
    for workload, _, container in containers(render(case)):
        missing = [probe for probe in PROBES if probe not in container]
        assert not missing, f"{workload}/{container['name']} lacks {missing}"


def test_every_container_runs_as_non_root(case: Case) -> None:
    for workload, pod_spec, container in containers(render(case)):
        pod_context = pod_spec.get("securityContext", {})
        context = container.get("securityContext", {})
        assert context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is True, workload
        assert context.get("runAsUser", pod_context.get("runAsUser", 0)) != 0, workload
        assert context.get("allowPrivilegeEscalation") is False, workload
        assert context.get("privileged", False) is False, workload
        assert "ALL" in context.get("capabilities", {}).get("drop", []), workload


def test_images_are_pinned(case: Case) -> None:
    for workload, _, container in containers(render(case)):
        image = container["image"]
        name, _, tag = image.rpartition(":")
        assert name and "/" not in tag, f"{workload}: {image} has no tag"
        assert tag != "latest", f"{workload}: {image} uses latest"


def test_service_selectors_match_pods(case: Case) -> None:
    manifests = render(case)
    pod_labels = [template["metadata"]["labels"] for _, template in pod_templates(manifests)]
    for service in of_kind(manifests, "Service"):
        selector = service["spec"]["selector"]
        assert any(selects(selector, labels) for labels in pod_labels), service["metadata"]["name"]


def test_every_metrics_port_is_scraped(monitoring_case: Case) -> None:
    """Each container port named metrics is behind a Service port a ServiceMonitor scrapes."""
    manifests = render(monitoring_case)
    monitors = of_kind(manifests, "ServiceMonitor")
    services = of_kind(manifests, "Service")
    metrics_pods = [
        (workload, template["metadata"]["labels"])
        for workload, template in pod_templates(manifests)
        for container in template["spec"]["containers"]
        for port in container.get("ports", [])
        if port["name"] == "metrics"
    ]
    components = {labels["app.kubernetes.io/component"] for _, labels in metrics_pods}
    assert {"gateway", "triton"} <= components, "gateway and Triton expose metrics"
    for workload, labels in metrics_pods:
        scraped = False
        for service in services:
            if not selects(service["spec"]["selector"], labels):
                continue
            service_ports = {p["name"]: p for p in service["spec"]["ports"]}
            for monitor in monitors:
                if not selects(
                    monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]
                ):
                    continue
                for endpoint in monitor["spec"]["endpoints"]:
                    port = service_ports.get(endpoint.get("port"))
                    scraped |= port is not None and port["targetPort"] == "metrics"
        assert scraped, f"{workload}: metrics port is not scraped by any ServiceMonitor"


def test_metrics_ports_stay_inside_the_cluster(case: Case) -> None:
    """A Service that carries a metrics port is ClusterIP; the client Service has only gRPC."""
    for service in of_kind(render(case), "Service"):
        names = {port["name"] for port in service["spec"]["ports"]}
        if "metrics" in names:
            assert service["spec"]["type"] == "ClusterIP", service["metadata"]["name"]
        if service["metadata"]["name"] == "asen-gateway":
            assert names == {"grpc"}


def test_network_policies_cover_every_pod(case: Case) -> None:
    manifests = render(case)
    policies = of_kind(manifests, "NetworkPolicy")
    for workload, template in pod_templates(manifests):
        labels = template["metadata"]["labels"]
        covering = [p for p in policies if selects(p["spec"]["podSelector"]["matchLabels"], labels)]
        assert covering, f"{workload} is not selected by any NetworkPolicy"
        assert all("Ingress" in p["spec"]["policyTypes"] for p in covering)


def ingress_sources(manifests: list[dict], component: str) -> dict[str, list]:
    """Port name -> allowed peers, for the NetworkPolicy of one component."""
    policy = next(
        p
        for p in of_kind(manifests, "NetworkPolicy")
        if p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == component
    )
    return {rule["ports"][0]["port"]: rule.get("from", []) for rule in policy["spec"]["ingress"]}


def test_only_gateway_reaches_triton_and_redis(case: Case) -> None:
    manifests = render(case)
    for component, port in (("triton", "grpc"), ("redis", "redis")):
        if not any(
            template["metadata"]["labels"]["app.kubernetes.io/component"] == component
            for _, template in pod_templates(manifests)
        ):
            continue
        sources = ingress_sources(manifests, component)
        assert set(sources) <= {port, "metrics"}, f"{component} opens {set(sources)}"
        (peer,) = sources[port]
        assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "gateway"
        assert "namespaceSelector" not in peer


def test_only_prometheus_reaches_metrics_ports(case: Case) -> None:
    manifests = render(case)
    components = {
        t["metadata"]["labels"]["app.kubernetes.io/component"] for _, t in pod_templates(manifests)
    }
    for component in {"gateway", "triton", "redis"} & components:
        (peer,) = ingress_sources(manifests, component)["metrics"]
        assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
        assert "namespaceSelector" in peer


def test_gateway_rbac_is_least_privilege(case: Case) -> None:
    manifests = render(case)
    assert not of_kind(manifests, "ClusterRole") and not of_kind(manifests, "ClusterRoleBinding")
    roles = of_kind(manifests, "Role")
    gateway = next(
        d for d in of_kind(manifests, "Deployment") if d["metadata"]["name"].endswith("-gateway")
    )
    env = {
        e["name"]: e.get("value")
        for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    if env["ASEN_DISCOVERY"] != "kubernetes":
        assert not roles, "static discovery needs no Kubernetes API access"
        return
    (role,) = roles
    assert role["rules"] == [
        {
            "apiGroups": ["discovery.k8s.io"],
            "resources": ["endpointslices"],
            "verbs": ["get", "list", "watch"],
        }
    ]
    (binding,) = of_kind(manifests, "RoleBinding")
    assert (
        binding["subjects"][0]["name"] == gateway["spec"]["template"]["spec"]["serviceAccountName"]
    )


def test_only_the_gateway_mounts_an_api_token(case: Case) -> None:
    for workload, template in pod_templates(render(case)):
        if not workload.endswith("-gateway"):
            assert template["spec"]["automountServiceAccountToken"] is False, workload
