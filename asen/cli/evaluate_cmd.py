"""`asen evaluate`: not implemented yet."""

from __future__ import annotations

import argparse

from asen.errors import AsenError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="(not implemented yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise AsenError("not implemented yet")
