"""`python -m loadtests.soak`: run the soak, then write its report.

    python -m loadtests.soak --schedule short|full [--repository DIR] [--workdir DIR]
        [--report loadtests/reports/soak.md] [--users 12] [--rate 2]
    python -m loadtests.soak --report-only DATA_DIR --report loadtests/reports/soak.md

Without --repository a small untrained ASEN++ is exported first.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from loadtests.soak.runner import LoadSettings, log, run_soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.soak", description=__doc__)
    parser.add_argument("--schedule", choices=("short", "full"), default="short")
    parser.add_argument("--repository", type=Path, help="Triton model repository to serve")
    parser.add_argument("--workdir", type=Path, help="keep logs and raw data here")
    parser.add_argument("--report", type=Path, help="write the Markdown report (and PNGs) here")
    parser.add_argument("--report-only", type=Path, metavar="DATA_DIR", help="no run: report")
    parser.add_argument("--users", type=int, default=LoadSettings.users)
    parser.add_argument("--rate", type=float, default=LoadSettings.rate_per_user)
    parser.add_argument(
        "--capacity-seconds", type=int, default=0, help="first measure raw capacity (h2load)"
    )
    args = parser.parse_args(argv)
    if args.report_only:
        data = args.report_only
    else:
        # a fresh folder per run: Redis Cluster nodes must start without an old nodes.conf
        parent = args.workdir or Path(tempfile.mkdtemp(prefix="asen-soak-"))
        workdir = parent / time.strftime("run-%Y%m%d-%H%M%S")
        workdir.mkdir(parents=True)
        repository = args.repository or export_model(workdir)
        load = LoadSettings(users=args.users, rate_per_user=args.rate)
        data = run_soak(args.schedule, repository, workdir, load, args.capacity_seconds)
        log(f"raw data in {data}")
    from loadtests.soak.analysis import analyse

    result = analyse(data)
    print(result.summary())
    if args.report:
        from loadtests.soak.report import write_report

        write_report(result, args.report)
        log(f"report written: {args.report}")
    return 0 if result.targets_met else 1


def export_model(workdir: Path) -> Path:
    from loadtests.bench_gateway import export_small_model

    log("exporting a small untrained ASEN++ ...")
    (workdir / "model").mkdir(exist_ok=True)
    return export_small_model(workdir / "model")


if __name__ == "__main__":
    sys.exit(main())
