"""A TCP proxy that adds latency on demand: the soak's "slow network to Redis".

    python -m loadtests.soak.latency_proxy --listen PORT --target HOST:PORT --delay-ms 400

Bytes in both directions are forwarded unchanged. While slowed (SIGUSR1 turns it on, SIGUSR2
off), every chunk waits `--delay-ms` before it is sent on, so each Redis round trip takes at
least twice that. Connections are accepted even when the target is down (they close at once),
as a real network path would refuse nothing by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import signal


class LatencyProxy:
    def __init__(self, target_host: str, target_port: int, delay_s: float) -> None:
        self.target = (target_host, target_port)
        self.delay_s = delay_s
        self.slow = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                if self.slow:
                    await asyncio.sleep(self.delay_s)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def serve(listen_port: int, proxy: LatencyProxy) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, lambda: setattr(proxy, "slow", True))
    loop.add_signal_handler(signal.SIGUSR2, lambda: setattr(proxy, "slow", False))
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", listen_port)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--delay-ms", type=float, default=400)
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    asyncio.run(serve(args.listen, LatencyProxy(host, int(port), args.delay_ms / 1000)))


if __name__ == "__main__":
    main()
