"""Who may open a connection to which pod port, as a NetworkPolicy-enforcing CNI would decide it
from the rendered policies. No cluster or CNI can run here, so this evaluator stands in for one;
it implements the parts of the NetworkPolicy semantics the chart uses (ingress rules, named and
numbered ports, podSelector / namespaceSelector matchLabels, their combination) and refuses
anything else, so a chart that starts using more fails loudly instead of being misjudged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .rendering import NAMESPACE, of_kind


@dataclass(frozen=True)
class Peer:
    """A pod that might open a connection: its namespace and labels."""

    name: str
    labels: dict = field(default_factory=dict, hash=False)
    namespace: str = NAMESPACE

    @property
    def namespace_labels(self) -> dict:
        return {"kubernetes.io/metadata.name": self.namespace}


def _match_labels(selector: dict, labels: dict) -> bool:
    unsupported = set(selector) - {"matchLabels"}
    if unsupported:
        raise NotImplementedError(f"selector fields {unsupported} are not evaluated here")
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_matches(rule_peer: dict, peer: Peer) -> bool:
    unsupported = set(rule_peer) - {"podSelector", "namespaceSelector"}
    if unsupported:
        raise NotImplementedError(f"peer fields {unsupported} are not evaluated here")
    if "namespaceSelector" in rule_peer:
        namespace_ok = _match_labels(rule_peer["namespaceSelector"], peer.namespace_labels)
    else:  # a podSelector alone means the policy's own namespace
        namespace_ok = peer.namespace == NAMESPACE
    pod_ok = _match_labels(rule_peer.get("podSelector", {}), peer.labels)
    return namespace_ok and pod_ok


def _port_matches(rule_ports: list[dict] | None, port: dict) -> bool:
    if not rule_ports:
        return True  # a rule without ports admits every port
    for rule_port in rule_ports:
        if rule_port.get("protocol", "TCP") != port.get("protocol", "TCP"):
            continue
        if "endPort" in rule_port:
            raise NotImplementedError("port ranges are not evaluated here")
        if rule_port.get("port") in (None, port["name"], port["containerPort"]):
            return True
    return False


def selecting_policies(manifests: list[dict], pod_labels: dict) -> list[dict]:
    """Ingress policies of the release that select a pod of the release's namespace."""
    return [
        policy
        for policy in of_kind(manifests, "NetworkPolicy")
        if "Ingress" in policy["spec"].get("policyTypes", ["Ingress"])
        and _match_labels(policy["spec"]["podSelector"], pod_labels)
    ]


def may_connect(manifests: list[dict], pod_labels: dict, port: dict, peer: Peer) -> bool:
    """Whether `peer` may open a connection to `port` (a container port) of the pod."""
    policies = selecting_policies(manifests, pod_labels)
    if not policies:
        return True  # an unselected pod admits everything
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            if not _port_matches(rule.get("ports"), port):
                continue
            sources = rule.get("from")
            if not sources or any(_peer_matches(source, peer) for source in sources):
                return True
    return False
