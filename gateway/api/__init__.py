"""The gRPC adapter: protobuf messages <-> the domain core, status codes, admission, API keys."""
