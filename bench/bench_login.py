"""200 wrong passwords against one account through ``/api/login``, and argon2 parameters.

Usage: ``python bench/bench_login.py [--guesses 200] [--no-sleep]``

Part 1 (the issue's yardstick: "200 wrong passwords in 51 s, all answered without a lockout"):
a temp SQLite database with one rater; 200 form POSTs with wrong passwords through the real
Starlette routes (TestClient). Printed: how many guesses were checked against the hash (the rest
were refused by the lock without looking at the password), the wall time of the run, and the
time an attacker needs for all 200 guesses at the lockout rate (5 per 15 minutes, then one per
lock). ``--no-sleep`` skips the growing delays' sleeps (they are reported, not waited).

Part 2: argon2id hash and verify time per parameter set, against argon2-cffi's defaults (RFC 9106's
second recommended profile, t=3, 64 MiB, p=4 -- what annotate uses) as the peer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def part1(guesses: int, sleep: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="annotate-bench-login-"))
    os.environ.update(
        {
            "ANNOTATE_DATA_DIR": str(tmp),
            "ANNOTATE_SECRET_KEY": "bench",
            "ANNOTATE_DATABASE_URL": f"sqlite:///{tmp}/a.db",
        }
    )
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.testclient import TestClient

    from annotate.config import get_settings
    from annotate.services import accounts
    from annotate.services.session import unit_of_work
    from annotate.web import auth
    from annotate.web.routes import ROUTES, AuthGate

    with unit_of_work(get_settings()) as s:
        accounts.create_user(s, None, "victim", "the real long password", "rater")
    slept = 0.0
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        nonlocal slept
        slept += seconds
        if sleep:
            await real_sleep(seconds)

    auth.asyncio.sleep = fake_sleep  # type: ignore[assignment]
    client = TestClient(Starlette(routes=ROUTES, middleware=[Middleware(AuthGate)]), follow_redirects=False)
    locked_at = None
    t0 = time.perf_counter()
    for i in range(guesses):
        r = client.post(
            "/api/login",
            data={"username": "victim", "password": f"guess-{i:04d}"},
            headers={"Origin": "http://testserver"},
        )
        if locked_at is None and "Too many failed attempts" in r.text:
            locked_at = i + 1
    wall = time.perf_counter() - t0
    settings = get_settings()
    checked = settings.lockout_attempts
    attacker_hours = (settings.lockout_minutes * (guesses - checked)) / 60
    print(f"{'measure':<58} value")
    print(f"{'guesses sent':<58} {guesses}")
    print(f"{'locked after guess':<58} {locked_at}")
    print(f"{'guesses checked against the password (the rest refused)':<58} {checked}")
    print(f"{'growing delays asked for, s':<58} {slept:.1f}")
    print(f"{'wall time of this run, s' + ('' if sleep else ' (delays not waited)'):<58} {wall:.1f}")
    print(f"{'before (issue): all 200 checked, s':<58} 51")
    print(f"{'attacker time for 200 checked guesses at the lock rate, h':<58} {attacker_hours:.1f}")


def part2() -> None:
    from argon2 import PasswordHasher

    profiles = [
        ("argon2-cffi default = annotate (t=3, 64 MiB, p=4)", PasswordHasher()),
        ("t=1, 64 MiB, p=4", PasswordHasher(time_cost=1, memory_cost=65536, parallelism=4)),
        ("OWASP minimum (t=2, 19 MiB, p=1)", PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)),
        ("t=4, 128 MiB, p=4", PasswordHasher(time_cost=4, memory_cost=131072, parallelism=4)),
    ]
    print(f"\n{'argon2id profile':<52} {'hash ms':>8} {'verify ms':>10}")
    for name, hasher in profiles:
        n = 5
        t0 = time.perf_counter()
        h = ""
        for _ in range(n):
            h = hasher.hash("correct horse battery staple")
        t1 = time.perf_counter()
        for _ in range(n):
            hasher.verify(h, "correct horse battery staple")
        t2 = time.perf_counter()
        print(f"{name:<52} {1000 * (t1 - t0) / n:>8.1f} {1000 * (t2 - t1) / n:>10.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--guesses", type=int, default=200)
    ap.add_argument("--no-sleep", action="store_true", help="report the growing delays without waiting them")
    args = ap.parse_args()
    part1(args.guesses, not args.no_sleep)
    part2()


if __name__ == "__main__":
    main()
