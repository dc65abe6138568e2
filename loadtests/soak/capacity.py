"""Raw capacity of one gateway for cached Compare calls, measured with h2load (a C HTTP/2 load
generator, so the client does not take the gateway's CPU); `loadtests/h2load_grpc.py` drives it.

h2load counts HTTP statuses only, not gRPC's status trailer, so the same request is first
checked once with a real gRPC client: if it succeeds there, every h2load request does the same
work.
"""

from __future__ import annotations

import grpc

from gateway.generated.asen.v1 import similarity_pb2 as pb
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc
from loadtests import h2load_grpc
from loadtests.h2load_grpc import H2Result

COMPARE = "/asen.v1.FashionSimilarity/Compare"


def measure(
    address: str, request: pb.CompareRequest, seconds: int = 10, clients: int = 4, streams: int = 8
) -> H2Result | None:
    """h2load against `address` for `seconds`; None when h2load is not installed."""
    if not h2load_grpc.available():
        return None
    with grpc.insecure_channel(address) as channel:  # the request must succeed first
        pb_grpc.FashionSimilarityStub(channel).Compare(request, timeout=30)
    return h2load_grpc.run(address, COMPARE, request.SerializeToString(), seconds, clients, streams)
