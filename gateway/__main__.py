"""`python -m gateway`: run the gateway until SIGINT/SIGTERM, configured by ASEN_* / flags."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from asen_contract.errors import AsenError
from gateway import event_loop
from gateway.config import GatewayConfig
from gateway.logging_setup import configure_logging
from gateway.server import Gateway


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway", description="ASEN similarity gRPC gateway in front of Triton."
    )
    GatewayConfig.add_arguments(parser)
    return parser


async def run_gateway(config: GatewayConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await Gateway(config).serve_until(stop)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = GatewayConfig.load(args)
    except AsenError as error:
        print(f"gateway: error: {error}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)
    try:
        event_loop.run(run_gateway(config), config.event_loop)
    except (AsenError, OSError) as error:
        print(f"gateway: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
