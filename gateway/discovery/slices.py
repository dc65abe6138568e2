"""Which addresses of an EndpointSlice the gateway may send requests to."""

from __future__ import annotations

from kubernetes.client import V1EndpointConditions, V1EndpointSlice

from gateway.discovery.endpoints import format_endpoint

GRPC_PORT_NAME = "grpc"


def is_ready(conditions: V1EndpointConditions | None) -> bool:
    """Kubernetes semantics: an unset `ready` means ready; a terminating endpoint never is.

    `serving` is deliberately ignored: a pod that still serves while terminating is draining,
    and new requests should go elsewhere.
    """
    if conditions is None:
        return True
    if conditions.terminating:
        return False
    return conditions.ready is not False


def slice_port(endpoint_slice: V1EndpointSlice, default_port: int) -> int:
    """The slice's port named "grpc" if it has one, else the configured Triton gRPC port."""
    for port in endpoint_slice.ports or []:
        if port.name == GRPC_PORT_NAME and port.port is not None:
            return port.port
    return default_port


def ready_endpoints(endpoint_slice: V1EndpointSlice, default_port: int) -> set[str]:
    """The "address:port" of every ready endpoint in one slice."""
    port = slice_port(endpoint_slice, default_port)
    return {
        format_endpoint(address, port)
        for endpoint in endpoint_slice.endpoints or []
        if is_ready(endpoint.conditions)
        for address in endpoint.addresses or []
    }
