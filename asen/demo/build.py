"""The demo's build steps, each the `asen` command a user would type, each skipped when done."""

from __future__ import annotations

import dataclasses
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from asen.cli.settings_flags import settings_to_flags
from asen.demo.settings import DemoSettings
from asen_contract.errors import AsenError


def run_asen(*args: str) -> str:
    """Run `asen ARGS` in a child process, showing the command and its progress; return stdout."""
    print(f"\n$ asen {shlex.join(args)}", flush=True)
    completed = subprocess.run(
        [sys.executable, "-m", "asen", *args], stdout=subprocess.PIPE, text=True, check=False
    )
    if completed.returncode != 0:
        raise AsenError(f"`asen {shlex.join(args)}` failed with exit code {completed.returncode}")
    return completed.stdout


STAMP = "settings.json"


def forget_stale_builds(settings: DemoSettings) -> None:
    """Remove the data, model and repository of an earlier run made with other settings (an
    older version of the demo), so that they are rebuilt instead of silently reused."""
    current = json.dumps(dataclasses.asdict(settings), default=str, sort_keys=True)
    stamp = settings.workdir / STAMP
    if stamp.is_file() and stamp.read_text() == current:
        return
    stale = [path for path in built_paths(settings) if path.exists()]
    if stale:
        print(f"the demo's settings changed: rebuilding {', '.join(map(str, stale))}")
    for path in stale:
        shutil.rmtree(path)
    settings.workdir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)


def make_data(settings: DemoSettings) -> None:
    if (settings.data / "attributes.json").is_file():
        print(f"data set: {settings.data} (already there)")
        return
    run_asen(
        "data", "synth", "--out", str(settings.data), *settings_to_flags(settings.synth),
        "--overwrite",
    )  # fmt: skip


def train_model(settings: DemoSettings) -> None:
    if settings.model_path.is_file():
        print(f"model: {settings.model_path} (already trained)")
        return
    run_asen("train", *settings_to_flags(settings.training()), "--json")


def evaluate_model(settings: DemoSettings, checkpoint: Path, name: str) -> dict:
    """`asen evaluate --json` of a checkpoint on the test split (MAP, chance, same/different
    similarity, attention localisation), kept as RUNDIR/test_report_NAME.json."""
    report_path = settings.run / f"test_report_{name}.json"
    if report_path.is_file():
        return json.loads(report_path.read_text())
    output = run_asen(
        "evaluate", "--checkpoint", str(checkpoint), "--data", str(settings.data),
        "--split", "test", "--json", "--no-progress",
    )  # fmt: skip
    report_path.write_text(output)
    return json.loads(output)


def export_repository(settings: DemoSettings) -> None:
    stamp = settings.repository / ".exported-from"
    model = settings.model_path
    source = f"{model.resolve()} {model.stat().st_mtime_ns}"
    if stamp.is_file() and stamp.read_text() == source:
        print(f"Triton repository: {settings.repository} (already exported)")
        return
    run_asen(
        "export", "--checkpoint", str(model), "--target", "cpu",
        "--out", str(settings.repository),
    )  # fmt: skip
    stamp.write_text(source)


def built_paths(settings: DemoSettings) -> list[Path]:
    return [settings.data, settings.run, settings.repository]
