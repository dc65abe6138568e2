"""The catalogue's deployment: an external Milvus server (token from a Secret, index settings,
egress allowed to it and to nothing else the gateway does not need), a Milvus Lite file only on
a persistent volume of a single gateway pod, or no catalogue."""

from __future__ import annotations

import yaml

from .network_reach import Peer, may_send
from .rendering import EXAMPLES_DIR, Case, helm, of_kind, render, template_args

MILVUS = Case("catalogue-milvus", EXAMPLES_DIR / "catalogue-milvus.yaml", False)
DEFAULTS = Case("defaults", None, False)
LITE = (
    "catalogue.mode=lite",
    "catalogue.lite.persistence.enabled=true",
    "gateway.replicas=1",
    "gateway.autoscaling.enabled=false",
)


def gateway(manifests: list[dict]) -> dict:
    (deployment,) = [
        d for d in of_kind(manifests, "Deployment") if d["metadata"]["name"] == "asen-gateway"
    ]
    return deployment["spec"]["template"]


def env(manifests: list[dict]) -> dict[str, dict]:
    return {e["name"]: e for e in gateway(manifests)["spec"]["containers"][0]["env"]}


def rendered(*overrides: str) -> list[dict]:
    args = [arg for override in overrides for arg in ("--set", override)]
    result = helm(*template_args(None, monitoring_api=False), *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_no_catalogue_by_default() -> None:
    variables = env(render(DEFAULTS))
    assert variables["ASEN_CATALOGUE_URI"]["value"] == ""
    assert not [
        name
        for name in variables
        if name.startswith("ASEN_CATALOGUE_") and name != "ASEN_CATALOGUE_URI"
    ]


def test_external_milvus_gets_its_uri_token_and_index_settings() -> None:
    variables = env(render(MILVUS))
    assert variables["ASEN_CATALOGUE_URI"]["value"] == "http://milvus.milvus.svc:19530"
    token = variables["ASEN_CATALOGUE_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token == {"name": "asen-milvus-token", "key": "token"}
    assert variables["ASEN_CATALOGUE_INDEX"]["value"] == "GPU_CAGRA"
    assert variables["ASEN_CATALOGUE_VECTOR_TYPE"]["value"] == "float16"
    assert variables["ASEN_CATALOGUE_DATABASE"]["value"] == "asen"


def test_a_private_milvus_ca_is_mounted_for_the_gateway() -> None:
    manifests = rendered(
        "catalogue.mode=external",
        "catalogue.external.uri=https://milvus.example.internal:19530",
        "catalogue.external.tlsCaSecret=milvus-ca",
    )
    template = gateway(manifests)
    path = env(manifests)["ASEN_CATALOGUE_TLS_CA"]["value"]
    mounts = {m["mountPath"]: m["name"] for m in template["spec"]["containers"][0]["volumeMounts"]}
    assert (
        path == "/etc/asen/catalogue-ca/ca.crt"
        and mounts["/etc/asen/catalogue-ca"] == "catalogue-ca"
    )
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    assert volumes["catalogue-ca"]["secret"]["secretName"] == "milvus-ca"


def test_gateway_egress_reaches_milvus_and_only_what_it_needs() -> None:
    manifests = render(MILVUS)
    labels = gateway(manifests)["metadata"]["labels"]
    triton = next(
        t["metadata"]["labels"]
        for t in (d["spec"]["template"] for d in of_kind(manifests, "Deployment"))
        if t["metadata"]["labels"]["app.kubernetes.io/component"] == "triton"
    )
    proxy = Peer(
        "milvus-proxy", {"app.kubernetes.io/instance": "milvus", "component": "proxy"}, "milvus"
    )
    allowed = {
        "milvus proxy": (proxy, 19530),
        "triton": (Peer("triton", triton), 8001),
        "dns": (Peer("coredns", {"k8s-app": "kube-dns"}, "kube-system"), 53),
        "api server": (Peer("apiserver", ip="10.96.0.1"), 443),
    }
    denied = {
        "milvus proxy, other port": (proxy, 9091),
        "milvus data node": (
            Peer(
                "datanode",
                {"app.kubernetes.io/instance": "milvus", "component": "datanode"},
                "milvus",
            ),
            19530,
        ),
        "a pod of the namespace": (Peer("curl", {"app": "curl"}), 443),
        "the internet": (Peer("somewhere", ip="203.0.113.7"), 443),
    }
    for name, (peer, port) in allowed.items():
        assert may_send(manifests, labels, peer, {"containerPort": port, "protocol": "TCP"}), name
    for name, (peer, port) in denied.items():
        assert not may_send(manifests, labels, peer, {"containerPort": port, "protocol": "TCP"}), (
            name
        )


def test_gateway_egress_is_open_unless_restricted() -> None:
    manifests = render(DEFAULTS)
    labels = gateway(manifests)["metadata"]["labels"]
    assert may_send(manifests, labels, Peer("somewhere", ip="203.0.113.7"), {"containerPort": 443})


def test_a_lite_catalogue_lives_on_a_kept_claim_of_one_gateway() -> None:
    manifests = rendered(*LITE)
    assert env(manifests)["ASEN_CATALOGUE_URI"]["value"] == "/var/lib/asen/catalogue/catalogue.db"
    (claim,) = of_kind(manifests, "PersistentVolumeClaim")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    template = gateway(manifests)
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    assert volumes["catalogue"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in template["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["catalogue"] == "/var/lib/asen/catalogue"
    existing = rendered(*LITE, "catalogue.lite.persistence.existingClaim=catalogue-data")
    assert not of_kind(existing, "PersistentVolumeClaim")
    claim_name = {v["name"]: v for v in gateway(existing)["spec"]["volumes"]}["catalogue"]
    assert claim_name["persistentVolumeClaim"]["claimName"] == "catalogue-data"
