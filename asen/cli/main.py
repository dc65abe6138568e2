"""Entry point of the `asen` command: dispatches to one module per sub-command."""

from __future__ import annotations

import argparse
import importlib
import sys

from asen_contract.errors import AsenError

# Sub-command name -> module under asen.cli that defines `register(subparsers)`.
COMMANDS: dict[str, str] = {
    "data": "asen.cli.data_cmd",
    "train": "asen.cli.train_cmd",
    "evaluate": "asen.cli.evaluate_cmd",
    "embed": "asen.cli.embed_cmd",
    "import-official": "asen.cli.import_official_cmd",
    "export": "asen.cli.export_cmd",
    "triton": "asen.cli.triton_cmd",
    "serve": "asen.cli.serve_cmd",
    "client": "asen.cli.client_cmd",
    "catalogue": "asen.cli.catalogue_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asen",
        description="ASEN++ attribute-specific fashion similarity: train, evaluate, export, serve.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMANDS.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AsenError as error:
        print(f"asen {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"asen {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
