"""The gateway's domain: Embed, Compare, Rank and ListAttributes as plain Python.

Nothing here knows gRPC or protobuf: requests come in as plain values (`ImageRef`, attribute
names, a deadline), results go out as the dataclasses of `results.py`, and failures are the error
kinds of `asen_contract.errors`. The gRPC adapter (`gateway.api`) only converts messages.
"""
