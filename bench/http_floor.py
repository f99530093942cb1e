"""The framework's floor on this machine: what the web tier answers when a request does no work.

    .venv/bin/python bench/http_floor.py --rate 200 --seconds 30

Starts the production server exactly as bench/scan_load.py does (Uvicorn,
config.settings.production, 2 workers) and sends GET requests for a path
under /api/ that matches no route, at a fixed arrival rate (open loop). Each
answer is the API's JSON 404: the full middleware stack, URL resolution and
the error handler, no query. The gap between this and a scan is what the
scan's own work costs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scan_load import percentile, server_env
from bench.scratch import uvicorn_serving


async def drive(url: str, rate: float, seconds: float) -> tuple[list[float], dict[int, int], float]:
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:

        async def one() -> None:
            started = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
                latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        tasks = []
        start = time.perf_counter()
        for index in range(int(rate * seconds)):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        return latencies, statuses, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/dispatch_scanbench", help="an existing database"
    )
    args = parser.parse_args()
    with uvicorn_serving(server_env(args.database), workers=args.workers) as server:
        url = f"{server.base}/api/v1/no-such-route"
        latencies, statuses, elapsed = asyncio.run(drive(url, args.rate, args.seconds))
    lat = [value * 1000 for value in latencies]
    p50, p95, p99 = (percentile(lat, share) for share in (0.50, 0.95, 0.99))
    print(f"sent {int(args.rate * args.seconds)} requests in {elapsed:.1f} s: {len(lat) / elapsed:.1f} answered/s")
    print(
        f"latency ms: p50 {p50:.1f}, p95 {p95:.1f}, p99 {p99:.1f}, max {max(lat):.1f}, mean {statistics.mean(lat):.1f}"
    )
    print(f"statuses {dict(sorted(statuses.items()))}")
    return 0 if set(statuses) == {404} else 1


if __name__ == "__main__":
    sys.exit(main())
