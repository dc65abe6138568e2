"""`python -m gateway.probe liveness|readiness`: ask a gateway's gRPC health service, over TLS or
mutual TLS when the gateway serves it, and exit 0 only when the answer is SERVING.

Kubernetes' native gRPC probe speaks plaintext only, so with TLS on the chart runs this command
as an exec probe: the probes still check the health service, not a bare TCP connect. Inside the
gateway pod it needs no flags: the port and the TLS files come from the gateway's own ASEN_*
variables. It trusts the very certificate the gateway serves (ASEN_TLS_CERT) and checks the name
that certificate carries, so it works with any issuer (public, private or self-signed); with
mutual TLS it presents the gateway's own key pair unless --tls-cert/--tls-key name another one.

`--list-attributes` also calls ListAttributes (the chart's `helm test` hook uses it), with an API
key read from a file when the gateway requires keys.

Exit status: 0 SERVING (and attributes listed), 1 not serving or unreachable, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.health import CHECKS


class ProbeUsageError(Exception):
    """A probe that cannot even be attempted (a missing file, a half-given key pair)."""


@dataclass(frozen=True)
class Target:
    """Where the probe connects and how: plaintext when `tls` is False."""

    address: str
    tls: bool = False
    roots: bytes | None = None
    client_key: bytes | None = None
    client_chain: bytes | None = None
    server_name: str | None = None

    def channel(self) -> grpc.Channel:
        if not self.tls:
            return grpc.insecure_channel(self.address)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.roots,
            private_key=self.client_key,
            certificate_chain=self.client_chain,
        )
        options = []
        if self.server_name:
            options.append(("grpc.ssl_target_name_override", self.server_name))
        return grpc.secure_channel(self.address, credentials, options)


def build_parser(env: dict[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.probe",
        description="Check an ASEN gateway's gRPC health service (plaintext, TLS or mutual TLS).",
    )
    parser.add_argument("check", choices=sorted(CHECKS), help="which health question to ask")
    port = env.get("ASEN_GRPC_PORT") or "50051"
    parser.add_argument(
        "--address",
        default=f"127.0.0.1:{port}",
        help="gateway host:port (default 127.0.0.1:$ASEN_GRPC_PORT)",
    )
    parser.add_argument("--timeout", type=float, default=3.0, help="deadline in seconds")
    parser.add_argument(
        "--tls-server-cert",
        type=Path,
        default=_path(env.get("ASEN_TLS_CERT")),
        help="certificate the gateway serves: trusted as is, its name checked; turns TLS on "
        "(default $ASEN_TLS_CERT)",
    )
    parser.add_argument("--tls-ca", type=Path, help="trust this CA instead; turns TLS on")
    parser.add_argument("--server-name", help="name expected in the server certificate")
    parser.add_argument(
        "--tls-cert", type=Path, help="client certificate for mutual TLS (default: see above)"
    )
    parser.add_argument("--tls-key", type=Path, help="client private key for mutual TLS")
    parser.add_argument(
        "--list-attributes",
        action="store_true",
        help="also call ListAttributes and require at least one attribute",
    )
    parser.add_argument("--api-key-file", type=Path, help="file holding an API key")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def target_from(args: argparse.Namespace, env: dict[str, str]) -> Target:
    """Resolve the connection settings; raises ProbeUsageError on unusable files."""
    if not (args.tls_server_cert or args.tls_ca):
        return Target(args.address)
    roots_file = args.tls_ca or args.tls_server_cert
    server_name = args.server_name
    if server_name is None and args.tls_server_cert and not args.tls_ca:
        server_name = certificate_name(_read(args.tls_server_cert))
    client_cert, client_key = args.tls_cert, args.tls_key
    if client_cert is None and client_key is None and env.get("ASEN_TLS_CLIENT_CA"):
        client_cert, client_key = _path(env.get("ASEN_TLS_CERT")), _path(env.get("ASEN_TLS_KEY"))
    if bool(client_cert) != bool(client_key):
        raise ProbeUsageError("mutual TLS needs both a client certificate and its key")
    return Target(
        args.address,
        tls=True,
        roots=_read(roots_file),
        client_key=_read(client_key) if client_key else None,
        client_chain=_read(client_cert) if client_cert else None,
        server_name=server_name,
    )


def certificate_name(pem: bytes) -> str | None:
    """The first DNS (or IP) subject alternative name of a PEM certificate, else its CN."""
    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as error:
        raise ProbeUsageError(f"not a PEM certificate: {error}") from None
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names = None
    if names is not None:
        for kind in (x509.DNSName, x509.IPAddress):
            values = names.get_values_for_type(kind)
            if values:
                return str(values[0])
    common = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(common[0].value) if common else None


def probe(target: Target, check: str, timeout: float, list_attributes: bool, api_key: str) -> dict:
    """Ask the health service (and ListAttributes); the result says `ok` and why."""
    result: dict = {"check": check, "address": target.address, "tls": target.tls}
    with target.channel() as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=CHECKS[check]), timeout=timeout
            )
        except grpc.RpcError as error:
            return result | {"ok": False, "status": "UNREACHABLE", "error": _error(error)}
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        result |= {"ok": response.status == health_pb2.HealthCheckResponse.SERVING}
        result["status"] = status
        if result["ok"] and list_attributes:
            result |= _list_attributes(channel, timeout, api_key)
    return result


def _list_attributes(channel: grpc.Channel, timeout: float, api_key: str) -> dict:
    from gateway.generated.asen.v1 import similarity_pb2 as pb
    from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc

    metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
    try:
        response = pb_grpc.FashionSimilarityStub(channel).ListAttributes(
            pb.ListAttributesRequest(), timeout=timeout, metadata=metadata
        )
    except grpc.RpcError as error:
        return {"ok": False, "error": "ListAttributes: " + _error(error)}
    names = [a.name for a in response.attributes]
    outcome = {"model_version": response.model_version, "attributes": names}
    if not names:
        outcome |= {"ok": False, "error": "ListAttributes returned no attribute"}
    return outcome


def main(argv: list[str] | None = None, env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    args = build_parser(env).parse_args(argv)
    try:
        target = target_from(args, env)
        api_key = _read(args.api_key_file).decode().strip() if args.api_key_file else ""
    except ProbeUsageError as error:
        print(f"probe: error: {error}", file=sys.stderr)
        return 2
    result = probe(target, args.check, args.timeout, args.list_attributes, api_key)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(_text(result))
    return 0 if result["ok"] else 1


def _text(result: dict) -> str:
    where = f"{result['address']}{' over TLS' if result['tls'] else ''}"
    line = f"{result['check']}: {result['status']} ({where})"
    if "attributes" in result:
        line += f"; model {result['model_version']}, {len(result['attributes'])} attributes"
    if "error" in result:
        line += f"; {result['error']}"
    return line


def _error(error: grpc.RpcError) -> str:
    code = error.code().name if hasattr(error, "code") else "UNKNOWN"
    details = error.details() if hasattr(error, "details") else str(error)
    return f"{code}: {details}"


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ProbeUsageError(f"cannot read {path}: {error.strerror}") from None


if __name__ == "__main__":
    sys.exit(main())
