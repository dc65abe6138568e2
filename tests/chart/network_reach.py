"""Who may open a connection to which pod port, as a NetworkPolicy-enforcing CNI would decide it
from the rendered policies. No cluster or CNI can run here, so this evaluator stands in for one;
it implements the parts of the NetworkPolicy semantics the chart uses (ingress rules, named and
numbered ports, podSelector / namespaceSelector matchLabels, their combination) and refuses
anything else, so a chart that starts using more fails loudly instead of being misjudged.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .rendering import NAMESPACE, of_kind


@dataclass(frozen=True)
class Peer:
    """A pod that might open a connection: its namespace and labels."""

    name: str
    labels: dict = field(default_factory=dict, hash=False)
    namespace: str = NAMESPACE
    ip: str = ""  # for an endpoint outside the pod network (the API server), matched by ipBlock

    @property
    def namespace_labels(self) -> dict:
        return {"kubernetes.io/metadata.name": self.namespace}


def _match_labels(selector: dict, labels: dict) -> bool:
    unsupported = set(selector) - {"matchLabels"}
    if unsupported:
        raise NotImplementedError(f"selector fields {unsupported} are not evaluated here")
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_matches(rule_peer: dict, peer: Peer) -> bool:
    unsupported = set(rule_peer) - {"podSelector", "namespaceSelector", "ipBlock"}
    if unsupported:
        raise NotImplementedError(f"peer fields {unsupported} are not evaluated here")
    if "ipBlock" in rule_peer:
        block = rule_peer["ipBlock"]
        if set(block) - {"cidr"}:
            raise NotImplementedError("ipBlock.except is not evaluated here")
        return bool(peer.ip) and ipaddress.ip_address(peer.ip) in ipaddress.ip_network(
            block["cidr"]
        )
    if peer.ip:
        return False  # an address outside the pod network matches ipBlock peers only
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


def selecting_policies(
    manifests: list[dict], pod_labels: dict, direction: str = "Ingress"
) -> list[dict]:
    """Policies of the release for `direction` that select a pod of the release's namespace."""
    return [
        policy
        for policy in of_kind(manifests, "NetworkPolicy")
        if direction in policy["spec"].get("policyTypes", ["Ingress"])
        and _match_labels(policy["spec"]["podSelector"], pod_labels)
    ]


def _admitted(
    manifests: list[dict], pod_labels: dict, direction: str, peer: Peer, port: dict
) -> bool:
    """The decision of the pod's policies for `direction` (Ingress: `peer` connects to the pod's
    `port`; Egress: the pod connects to `peer`'s `port`). No selecting policy admits all."""
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    policies = selecting_policies(manifests, pod_labels, direction)
    if not policies:
        return True
    for policy in policies:
        for rule in policy["spec"].get(rules_key, []):
            if not _port_matches(rule.get("ports"), port):
                continue
            peers = rule.get(peers_key)
            if not peers or any(_peer_matches(rule_peer, peer) for rule_peer in peers):
                return True
    return False


def may_connect(manifests: list[dict], pod_labels: dict, port: dict, peer: Peer) -> bool:
    """Whether `peer` may open a connection to `port` (a container port) of the pod."""
    return _admitted(manifests, pod_labels, "Ingress", peer, port)


def may_send(manifests: list[dict], pod_labels: dict, destination: Peer, port: dict) -> bool:
    """Whether the pod may open a connection to `port` ({containerPort, protocol}) of
    `destination`, as far as the pod's own egress policies decide."""
    return _admitted(manifests, pod_labels, "Egress", destination, {"name": None, **port})
