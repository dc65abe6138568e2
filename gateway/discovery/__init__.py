"""Where the gateway finds its Triton pods: a fixed list, or Kubernetes EndpointSlices.

Both sources share one contract (`EndpointSource`): `start()` reports the current endpoints
through `on_change(sorted ["host:port", ...])`, later changes are reported the same way, and
`stop()` ends any background work. The Kubernetes source lives in its own module so that
importing this package does not import the Kubernetes client.
"""

from gateway.discovery.endpoints import EndpointSource, OnChange, format_endpoint, parse_endpoint

__all__ = ["EndpointSource", "OnChange", "format_endpoint", "parse_endpoint"]
