"""Where the gateway's CPU goes on its hot paths: py-spy samples the gateway under h2load.

Starts tritonserver (a small untrained ASEN++), redis-server and `python -m gateway` with a
Milvus Lite catalogue (as loadtests/bench_gateway.py does), fills the cache and the catalogue,
then for each scenario drives the gateway with h2load while `py-spy record` samples it:

  compare  Compare of two cached images (bytes), one attribute;
  embed    Embed of a cached image, one attribute;
  search   SearchItems by a cached image, one attribute, top 10 of --items catalogue items.

For each it writes the collapsed stacks (`<scenario>.txt` under --out: open them with
speedscope, or turn them into a flame graph with flamegraph.pl) and prints the functions with
the largest share of samples (inclusive and own), also written to `summary.json`.

    python loadtests/profile_gateway.py [--seconds 10] [--out build/profile] [--items 200]
        [--scenarios compare embed search] [--baseline DIR]

py-spy (PyPI, in the dev extra) needs ptrace rights on the gateway: root, or
kernel.yama.ptrace_scope = 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "loadtests"))

import h2load_grpc  # noqa: E402
from bench_gateway import Services, export_small_model, make_images, wait_serving  # noqa: E402

from gateway.generated.asen.v1 import similarity_pb2 as pb  # noqa: E402
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc  # noqa: E402

PATHS = {
    "compare": "/asen.v1.FashionSimilarity/Compare",
    "embed": "/asen.v1.FashionSimilarity/Embed",
    "search": "/asen.v1.FashionSimilarity/SearchItems",
}


async def prepare(address: str, items: int) -> dict[str, bytes]:
    """Fill the cache and the catalogue; the request message of each scenario."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.FashionSimilarityStub(channel)
        model = await wait_serving(stub)
        attribute = model.attributes[0].name
        images = make_images(items + 2, 256, seed=3)
        compare = pb.CompareRequest(
            a=pb.ImageRef(data=images[0]), b=pb.ImageRef(data=images[1]), attributes=[attribute]
        )
        await stub.Compare(compare, timeout=120)
        embed = pb.EmbedRequest(image=pb.ImageRef(data=images[0]), attributes=[attribute])

        async def upserts():
            for index, data in enumerate(images[2:]):
                yield pb.UpsertItemsRequest(
                    item_id=f"item-{index}", image=pb.ImageRef(data=data), attributes=[attribute]
                )

        async for _ in stub.UpsertItems(upserts(), timeout=600):
            pass
        search = pb.SearchItemsRequest(
            image=pb.ImageRef(data=images[0]), attributes=[attribute], top_k=10
        )
        await stub.SearchItems(search, timeout=60)
    return {
        "compare": compare.SerializeToString(),
        "embed": embed.SerializeToString(),
        "search": search.SerializeToString(),
    }


def profile(
    name: str, address: str, pid: int, message: bytes, args: argparse.Namespace, out: Path
) -> dict:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    raw = out / f"{name}.txt"
    recorder = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--duration", str(int(args.seconds)),
         "--rate", str(args.rate), "--format", "raw", "--output", str(raw),
         *(["--native"] if args.native else ["--nonblocking"])],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    result = h2load_grpc.run(address, PATHS[name], message, args.seconds, 2, 8, warm_up=1, pid=pid)
    _, errors = recorder.communicate(timeout=args.seconds + 60)
    if not raw.exists():
        raise RuntimeError(f"py-spy wrote no profile:\n{errors}")
    print(
        f"\n== {name}: {result.requests_per_s:.0f} req/s, p50 {result.p50_ms} ms, p99 "
        f"{result.p99_ms} ms, gateway CPU {result.server_cpu_ms_per_request} ms/call, "
        f"failed {result.failed}"
    )
    return {"h2load": asdict(result), "samples": summarize(raw, args.top)}


def summarize(raw: Path, top: int) -> dict:
    """Largest shares of samples: inclusive (anywhere on the stack) and own (the leaf)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        frames = stack.split(";")
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        print("no samples")
        return {"total": 0}
    shares = {}
    for label, counts in (("inclusive", inclusive), ("own", own)):
        print(f"{total} samples; {label}:")
        shares[label] = []
        for frame, samples in counts.most_common(top):
            print(f"  {100 * samples / total:5.1f}%  {frame}")
            shares[label].append([frame, round(100 * samples / total, 2)])
    return {"total": total, **shares}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--items", type=int, default=200, help="catalogue items")
    parser.add_argument("--scenarios", nargs="+", default=list(PATHS), choices=list(PATHS))
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--native", action="store_true", help="C/Cython frames too (slower)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "profile")
    parser.add_argument("--baseline", type=Path, help="profile this checkout's gateway instead")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    root = args.baseline.resolve() if args.baseline else ROOT
    if args.baseline:
        args.loop = "asyncio"  # an older gateway has no ASEN_EVENT_LOOP
    with tempfile.TemporaryDirectory(prefix="profile-gateway-") as workdir:
        work = Path(workdir)
        env = {"ASEN_CATALOGUE_URI": str(work / "catalogue.db")}
        services = Services(export_small_model(work), "redis", work, {"g": (root, args.loop)}, env)
        try:
            services.start()
            gateway = services.gateways["g"]
            messages = asyncio.run(prepare(gateway.address, args.items))
            summary = {
                name: profile(name, gateway.address, gateway.pid, messages[name], args, args.out)
                for name in args.scenarios
            }
            summary["settings"] = {
                "seconds": args.seconds,
                "rate": args.rate,
                "items": args.items,
                "loop": args.loop,
                "gateway": "baseline" if args.baseline else "this checkout",
            }
            (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        finally:
            services.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
