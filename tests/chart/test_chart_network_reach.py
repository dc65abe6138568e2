"""Reachability of every pod port of the release, decided from the rendered NetworkPolicies by
the evaluator in network_reach.py (a stand-in for a CNI; no cluster here): Triton only from this
release's gateway (and Prometheus for metrics), Redis only from the gateway, nothing reaches a
port nobody needs."""

from __future__ import annotations

from .network_reach import Peer, may_connect
from .rendering import Case, pod_templates, render

INSTANCE = "app.kubernetes.io/instance"


def component_pods(manifests: list[dict]) -> dict[str, dict]:
    """component -> pod template of the release."""
    return {
        template["metadata"]["labels"]["app.kubernetes.io/component"]: template
        for _, template in pod_templates(manifests)
    }


def candidate_peers(pods: dict[str, dict]) -> list[Peer]:
    gateway = pods["gateway"]["metadata"]["labels"]
    peers = [
        Peer("gateway", gateway),
        Peer("gateway-of-another-release", gateway | {INSTANCE: "other"}),
        Peer("gateway-labels-in-another-namespace", gateway, namespace="elsewhere"),
        Peer("curl-in-namespace", {"app": "curl"}),
        Peer("prometheus", {"app.kubernetes.io/name": "prometheus"}, namespace="monitoring"),
        Peer("other-in-monitoring", {"app": "grafana"}, namespace="monitoring"),
    ]
    peers += [Peer(name, t["metadata"]["labels"]) for name, t in pods.items() if name != "gateway"]
    helm_test = gateway | {"app.kubernetes.io/component": "test"}
    peers.append(Peer("helm-test", helm_test))
    return peers


def reach(case: Case, component: str) -> dict[str, set[str]]:
    """container port name -> names of the candidate peers that may connect to it."""
    manifests = render(case)
    pods = component_pods(manifests)
    if component not in pods:
        return {}
    template = pods[component]
    labels = template["metadata"]["labels"]
    return {
        port["name"]: {
            peer.name
            for peer in candidate_peers(pods)
            if may_connect(manifests, labels, port, peer)
        }
        for container in template["spec"]["containers"]
        for port in container.get("ports", [])
    }


def test_triton_is_reachable_only_from_this_releases_gateway(case: Case) -> None:
    ports = reach(case, "triton")
    assert ports["grpc"] == {"gateway"}
    assert ports["metrics"] == {"prometheus"}
    assert ports.get("http", set()) == set(), "HTTP, when on, is for the kubelet/port-forward"


def test_redis_is_reachable_only_from_this_releases_gateway(case: Case) -> None:
    bundled = "redis" in component_pods(render(case))
    expected = {"redis": {"gateway"}, "metrics": {"prometheus"}}  # metrics: the exporter
    assert reach(case, "redis") == (expected if bundled else {})


def test_gateway_serves_its_clients_and_prometheus_only(case: Case) -> None:
    ports = reach(case, "gateway")
    assert ports["metrics"] == {"prometheus"}
    assert "helm-test" in ports["grpc"], "`helm test` must reach the gateway"
    if case.values_file is not None and case.values_file.stem == "tls":
        assert ports["grpc"] == {"helm-test"}, "only namespaces labelled asen-client: true"
    else:
        assert "curl-in-namespace" in ports["grpc"]


def test_the_evaluator_sees_an_open_policy() -> None:
    """Guards the evaluator: a rule without `from` opens the port to every peer."""
    manifests = render(Case("defaults", None, False))
    for policy in manifests:
        if policy["kind"] == "NetworkPolicy" and policy["metadata"]["name"] == "asen-triton":
            del policy["spec"]["ingress"][0]["from"]
    triton = component_pods(manifests)["triton"]
    port = {"name": "grpc", "containerPort": 8001, "protocol": "TCP"}
    peer = Peer("curl", {"app": "curl"})
    assert may_connect(manifests, triton["metadata"]["labels"], port, peer)
