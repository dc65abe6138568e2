"""Write helm/asen/README.md from the chart's documented values.

Every key in values.yaml preceded by a `# -- description` comment (continued by plain `#` lines)
becomes a row: key path, type, default, description. `--check` exits 1 when the README is not
what this script would write (the test suite runs the same comparison).

    python scripts/chart_readme.py [--check]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parents[1] / "helm" / "asen"
KEY = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*):(\s.*)?$")
DOC_START = re.compile(r"^\s*# -- (.*)$")
DOC_MORE = re.compile(r"^\s*#(?: (.*))?$")

HEADER = """# ASEN serving Helm chart

ASEN++ attribute-specific fashion similarity on Kubernetes: an autoscaled NVIDIA Triton pool,
a gRPC gateway with an embedding cache, Prometheus alerts and a Grafana dashboard.
How to install, operate and roll out new models: [docs/deployment.md](../../docs/deployment.md);
what to do when an alert fires: [docs/runbooks.md](../../docs/runbooks.md).

```bash
helm upgrade --install asen helm/asen -n asen -f helm/asen/examples/gpu-production.yaml
helm test asen -n asen
```

This file is generated from the comments in `values.yaml` by `python scripts/chart_readme.py`;
edit `values.yaml`, then run the script. Examples for common clusters are in `examples/`.

## Values

| Key | Type | Default | Description |
|---|---|---|---|
"""


def documented_keys(text: str) -> list[tuple[str, str]]:
    """(dotted key path, description) in file order."""
    rows: list[tuple[str, str]] = []
    stack: list[tuple[int, str]] = []
    pending: list[str] | None = None
    for line in text.splitlines():
        if match := DOC_START.match(line):
            pending = [match.group(1).strip()]
            continue
        if pending is not None and (match := DOC_MORE.match(line)):
            pending.append((match.group(1) or "").strip())
            continue
        match = KEY.match(line)
        if not match:
            if line.strip() and not line.lstrip().startswith("#"):
                pending = None
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(2)))
        if pending is not None:
            path = ".".join(key for _, key in stack)
            rows.append((path, " ".join(part for part in pending if part)))
            pending = None
    return rows


def _lookup(values: dict, path: str) -> object:
    node: object = values
    for key in path.split("."):
        node = node[key]  # type: ignore[index]
    return node


def _type(value: object) -> str:
    return (
        {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "object"}[
            type(value)
        ]
        if value is not None
        else "null"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_readme(chart: Path | None = None) -> str:
    text = ((chart or CHART) / "values.yaml").read_text()
    values = yaml.safe_load(text)
    lines = [HEADER]
    rows = documented_keys(text)
    parents = {path.rsplit(".", 1)[0] for path, _ in rows if "." in path}
    for path, description in rows:
        value = _lookup(values, path)
        if path in parents:  # its documented keys follow
            default = "see below"
        else:
            default = "`" + _cell(json.dumps(value, separators=(",", ":"))) + "`"
        lines.append(f"| `{path}` | {_type(value)} | {default} | {_cell(description)} |\n")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate helm/asen/README.md from values.yaml.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is stale")
    args = parser.parse_args(argv)
    readme = CHART / "README.md"
    wanted = render_readme()
    if args.check:
        if not readme.is_file() or readme.read_text() != wanted:
            print(f"{readme} is stale: run python scripts/chart_readme.py", file=sys.stderr)
            return 1
        return 0
    readme.write_text(wanted)
    print(f"wrote {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
