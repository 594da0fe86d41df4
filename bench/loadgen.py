"""A small closed-loop HTTP/1.1 load generator for the benchmarks (keep-alive, asyncio + uvloop).

Each of ``connections`` clients sends one GET, waits for the whole answer and sends the next,
for ``seconds``; latency is measured per request. It parses only what it needs (status line,
Content-Length) so that it costs the 2-core machine as little CPU as possible.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ns: list[int]
    statuses: dict[int, int]
    fixed_percentiles: dict[int, float] | None = None  # from wrk, which reports them itself

    @property
    def req_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: int) -> float:
        if self.fixed_percentiles is not None:
            return self.fixed_percentiles[p]
        return percentile_ms(self.latencies_ns, p)


async def _client(
    host: str, port: int, requests: Sequence[bytes], start: int, deadline: float, out: LoadResult
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    cycle = itertools.islice(itertools.cycle(requests), start, None)
    try:
        while time.perf_counter() < deadline:
            req = next(cycle)
            t0 = time.perf_counter_ns()
            writer.write(req)
            status, _ = await read_response(reader)
            if status == 0:
                out.errors += 1
                return
            out.latencies_ns.append(time.perf_counter_ns() - t0)
            out.requests += 1
            out.statuses[status] = out.statuses.get(status, 0) + 1
            if status >= 400:
                out.errors += 1
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response: its status and body (status 0 when the server closed)."""
    status_line = await reader.readline()
    if not status_line:
        return 0, b""
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


def percentile_ms(latencies_ns: Sequence[int], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of latencies in nanoseconds, in milliseconds."""
    if not latencies_ns:
        return 0.0
    data = sorted(latencies_ns)
    k = min(len(data) - 1, max(0, round(p / 100 * (len(data) - 1))))
    return data[k] / 1e6


def build_get(host: str, port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def loop_runner() -> Callable[[Coroutine[Any, Any, T]], T]:
    """``uvloop.run`` (the client then costs the machine less CPU than with asyncio's own
    loop, leaving more to the server it measures), or ``asyncio.run`` without uvloop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.run
    return uvloop.run


def run_load(
    host: str, port: int, requests: Sequence[bytes], *, connections: int, seconds: float
) -> LoadResult:
    """Drive ``requests`` (pre-built raw requests, cycled) at the server for ``seconds``."""
    runner = loop_runner()
    out = LoadResult(0, 0, 0.0, [], {})

    async def main() -> None:
        t0 = time.perf_counter()
        deadline = t0 + seconds
        step = max(1, len(requests) // connections)
        await asyncio.gather(
            *(_client(host, port, requests, i * step, deadline, out) for i in range(connections))
        )
        out.seconds = time.perf_counter() - t0

    runner(main())
    return out


_WRK_SCRIPT = """
local paths = {%(paths)s}
local i = 0
%(headers)s
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(
    host: str,
    port: int,
    paths: Sequence[str],
    headers: dict[str, str],
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
) -> LoadResult:
    """Drive GETs of ``paths`` with wrk (C, epoll): far less CPU than a Python client."""
    import subprocess
    import tempfile

    def lua(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    script = _WRK_SCRIPT % {
        "paths": ",".join(lua(p) for p in paths),
        "headers": "\n".join(f"wrk.headers[{lua(k)}] = {lua(v)}" for k, v in headers.items()),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "-s",
            f.name,
            f"http://{host}:{port}/",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON"))
    reqs, dur_us, errs, non2xx, p50_us, p99_us = (int(x) for x in line.split()[1:])
    result = LoadResult(reqs, errs + non2xx, dur_us / 1e6, [], {})
    result.fixed_percentiles = {50: p50_us / 1000, 99: p99_us / 1000}
    return result
