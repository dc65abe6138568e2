"""How every client subcommand reaches a gateway: one set of flags, one way to open the client."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from asen_contract.errors import AsenError


def connection_flags(default_timeout: float, timeout_help: str) -> argparse.ArgumentParser:
    """A parent parser with the address, API key, TLS and deadline flags."""
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument(
        "--address",
        default=os.environ.get("ASEN_ADDRESS", "localhost:50051"),
        help="gateway host:port ($ASEN_ADDRESS, default localhost:50051)",
    )
    flags.add_argument("--api-key", default=None, help="API key (default: $ASEN_API_KEY)")
    flags.add_argument("--tls", action="store_true", help="connect with TLS")
    flags.add_argument("--ca-cert", type=Path, help="CA certificate to trust (implies --tls)")
    flags.add_argument("--client-cert", type=Path, help="client certificate for mutual TLS")
    flags.add_argument("--client-key", type=Path, help="client private key for mutual TLS")
    flags.add_argument("--server-name", help="name expected in the server certificate")
    flags.add_argument("--timeout", type=float, default=default_timeout, help=timeout_help)
    flags.add_argument("--json", action="store_true", help="print machine-readable JSON")
    return flags


def open_client(args: argparse.Namespace):
    """An AsenClient for the parsed connection flags (a context manager)."""
    from asen.client import AsenClient, TlsOptions

    tls: bool | TlsOptions = False
    if args.tls or args.ca_cert or args.client_cert:
        if bool(args.client_cert) != bool(args.client_key):
            raise AsenError("mutual TLS needs both --client-cert and --client-key")
        tls = TlsOptions(args.ca_cert, args.client_cert, args.client_key, args.server_name)
    api_key = args.api_key or os.environ.get("ASEN_API_KEY") or None
    return AsenClient(args.address, api_key=api_key, tls=tls, timeout=args.timeout)


def image_argument(value: str):
    """An image given on the command line: `sha256:HEX` of an embedded image, or a file path."""
    from asen.client import Sha256Ref

    if value.startswith("sha256:"):
        return Sha256Ref(value.removeprefix("sha256:"))
    path = Path(value)
    if not path.is_file():
        raise AsenError(f"no such image file: {path}")
    return path
