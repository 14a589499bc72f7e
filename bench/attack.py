"""The credential-stuffing attack of bench/run (issue 11, point 8), as a botnet sends it: at a fixed
rate, each attempt a new connection carrying the whole request at once — ``POST /login/`` with a new
14-digit customer number and a wrong password — from 16 addresses in turn (``X-Forwarded-For:
198.18.0.1`` … ``.16``; the bench server trusts one proxy).

Not wrk: wrk paces a connection with ``delay()`` only after it has reconnected, so each paced
request first sits as an idle, accepted connection on the server for up to (connections ÷ rate)
seconds, holding a gunicorn sync worker in ``recv`` — a slow-client attack, which in production the
buffering proxy in front of gunicorn absorbs (README, Operations), not the one this measures. Here a
request is written in full as soon as its connection is open, so what it costs the server is the
portal's own work.

    python -m bench.attack URL SECONDS        (stops after SECONDS, or at SIGINT/SIGTERM)

Environment: BENCH_ATTACK_RATE (100 a second), BENCH_ATTACK_ADDRESSES (16), BENCH_COOKIE and
BENCH_BODY (the CSRF cookie, and the form up to the customer number: ``csrfmiddlewaretoken=…&form=
customer``). Prints a summary in wrk's format (``Requests/sec``, the latency distribution,
``BENCH_STATUS``) for bench/tool.py's report.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

TIMEOUT_S = 10.0


class Attack:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
        self.rate = float(os.environ.get("BENCH_ATTACK_RATE", "100"))
        self.addresses = int(os.environ.get("BENCH_ATTACK_ADDRESSES", "16"))
        self.cookie = os.environ.get("BENCH_COOKIE", "")
        self.body_prefix = os.environ.get("BENCH_BODY", "form=customer")
        self.sent = 0
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.latencies_ms: list[float] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def request(self, n: int) -> bytes:
        number = f"{10**13 + n:014d}"  # a new customer number every time (none exists)
        body = f"{self.body_prefix}&c-customer_number={number}&c-password=stuffed-password-{n}".encode()
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"X-Forwarded-For: 198.18.0.{n % self.addresses + 1}\r\n"
            f"Cookie: {self.cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode() + body

    async def one(self, n: int) -> None:
        started = time.perf_counter()
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), TIMEOUT_S)
            writer.write(self.request(n))
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), TIMEOUT_S)
            await asyncio.wait_for(reader.read(), TIMEOUT_S)  # the server closes after the response
            parts = status_line.split()
            self.statuses[parts[1].decode() if len(parts) > 1 else "?"] += 1
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
        except TimeoutError:
            self.errors["timeout"] += 1
        except OSError:
            self.errors["connect"] += 1
        finally:
            if writer is not None:
                writer.close()

    async def run(self, seconds: float, stop: asyncio.Event) -> float:
        start = time.perf_counter()
        interval = 1.0 / self.rate
        n = 0
        while not stop.is_set() and time.perf_counter() - start < seconds:
            due = start + n * interval
            wait = due - time.perf_counter()
            if wait > 0:
                try:
                    await asyncio.wait_for(stop.wait(), wait)
                    break
                except TimeoutError:
                    pass
            task = asyncio.create_task(self.one(n))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            n += 1
        self.sent = n
        elapsed = time.perf_counter() - start
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=TIMEOUT_S)
        return elapsed

    def summary(self, elapsed: float) -> str:
        answered = sum(self.statuses.values())
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> str:
            if not lat:
                return "nan"
            return f"{lat[min(len(lat) - 1, int(p / 100 * len(lat)))]:.2f}ms"

        ok = self.statuses.get("200", 0)
        other = {k: v for k, v in self.statuses.items() if k != "200"}
        return "\n".join(
            [
                f"Running {elapsed:.0f}s test @ http://{self.host}:{self.port}{self.path} (bench/attack.py)",
                f"  Latency mean {statistics.fmean(lat) if lat else float('nan'):.2f}ms",
                "  Latency Distribution",
                f"     50%    {pct(50)}",
                f"     99%    {pct(99)}",
                f"  {answered} requests in {elapsed:.2f}s",
                f"  Socket errors: connect {self.errors['connect']}, read 0, write 0,"
                f" timeout {self.errors['timeout']}",
                f"Requests/sec: {answered / elapsed if elapsed else 0:.2f}",
                f"BENCH_STATUS expected=200 ok={ok} other={sum(other.values())} "
                f"statuses={','.join(f'{k}:{v}' for k, v in sorted(other.items()))}",
            ]
        )


async def main(url: str, seconds: float) -> None:
    attack = Attack(url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    elapsed = await attack.run(seconds, stop)
    print(attack.summary(elapsed), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
