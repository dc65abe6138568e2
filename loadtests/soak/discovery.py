"""Triton endpoints for the soak's gateways through Kubernetes discovery (ASEN_DISCOVERY=
kubernetes), served by the EndpointSlice stand-in of tests/discovery: no API server can run here.

Each Triton "pod" is one EndpointSlice with its own port (all pods share 127.0.0.1). Scale-down
marks the pod's endpoint terminating (not ready), as Kubernetes does before it sends SIGTERM;
scale-up publishes it ready again once its Triton answers.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.discovery.apiserver_standin import StandInApiServer, make_slice

NAMESPACE = "serving"
SERVICE = "triton"


class Discovery:
    def __init__(self, workdir: Path) -> None:
        self.api = StandInApiServer().start()
        self.kubeconfig = workdir / "kubeconfig"
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "standin", "cluster": {"server": self.api.url}}],
                    "users": [{"name": "soak", "user": {}}],
                    "contexts": [
                        {"name": "soak", "context": {"cluster": "standin", "user": "soak"}}
                    ],
                    "current-context": "soak",
                }
            )
        )

    def gateway_env(self, default_port: int) -> dict[str, str]:
        return {
            "ASEN_DISCOVERY": "kubernetes",
            "ASEN_K8S_NAMESPACE": NAMESPACE,
            "ASEN_K8S_SERVICE": SERVICE,
            "ASEN_TRITON_GRPC_PORT": str(default_port),
            "KUBECONFIG": str(self.kubeconfig),
        }

    def publish(self, pod: str, port: int, ready: bool) -> None:
        endpoint = {"ip": "127.0.0.1", "ready": ready, "serving": ready, "terminating": not ready}
        self.api.apply(make_slice(pod, SERVICE, [endpoint], namespace=NAMESPACE, port=port))

    def close(self) -> None:
        self.api.close()
