"""The service's worker processes (``api.services.compute``): objects kept in a worker under a ref, made
there from their definition when a call needs them, a stale one serving while a newer one is made."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest

from api.services.compute import Compute, Ref, same
from api.settings import Settings
from matcher.errors import InvalidInputError


def _slowly(value: str, seconds: float) -> str:
    time.sleep(seconds)
    return value


def _made_in(value: object) -> tuple[object, int]:
    return value, os.getpid()


@pytest.fixture
def compute() -> Iterator[Compute]:
    work = Compute(1)
    try:
        yield work
    finally:
        work.shutdown()


def test_a_ref_is_made_in_the_worker_from_its_definition_and_kept(compute: Compute) -> None:
    async def scenario() -> None:
        ref = compute.define(("numbers", 1), same, list(range(1000)))
        assert await compute.run(sum, ref) == sum(range(1000))
        value, pid = await compute.run(_made_in, ref)
        assert value == list(range(1000)) and pid != os.getpid()
        assert await compute.call(ref, "index", 999) == 999
        assert await compute.get(ref, "__class__", "__name__") == "list"
        with pytest.raises(LookupError):
            await compute.run(sum, Ref(("never defined",)))
        # Errors raised in the worker reach the caller as they are.
        with pytest.raises(ValueError):
            await compute.call(ref, "index", -1)

    asyncio.run(scenario())


def test_a_stale_ref_serves_while_the_newer_one_is_made_in_the_background(compute: Compute) -> None:
    async def scenario() -> None:
        old = compute.define(("pool", 1), same, "old")
        assert await compute.run(str, old) == "old"
        compute.define(("pool", 2), _slowly, "new", 4.0)
        newer = Ref(("pool", 2), stale=(old.key,))
        started = time.perf_counter()
        assert await compute.run(str, newer) == "old"
        assert await compute.run(str, newer) == "old"  # still being made: not made twice
        assert time.perf_counter() - started < 2.0
        deadline = time.monotonic() + 30.0
        while await compute.run(str, newer) != "new":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        # Without a stale one present the call waits for it to be made.
        compute.define(("pool", 3), _slowly, "newest", 0.2)
        assert await compute.run(str, Ref(("pool", 3), stale=(("pool", 0),))) == "newest"

    asyncio.run(scenario())


def test_each_worker_is_a_process_of_its_own_and_takes_one_call_at_a_time() -> None:
    work = Compute(2)

    async def scenario() -> list[tuple[object, int]]:
        return await asyncio.gather(*(work.run(_made_in, i) for i in range(6)))

    try:
        runs = asyncio.run(scenario())
    finally:
        work.shutdown()
    assert [value for value, _ in runs] == list(range(6))
    # The first two calls took the two idle workers.
    assert len({pid for _, pid in runs}) == 2 and os.getpid() not in {pid for _, pid in runs}


def test_the_number_of_ranking_processes_is_a_setting() -> None:
    assert Settings.from_env({"ROADSHOW_RANKING_PROCESSES": "3"}).ranking_processes == 3
    assert 1 <= Settings.from_env({}).ranking_processes <= 4
    with pytest.raises(InvalidInputError) as caught:
        Settings.from_env({"ROADSHOW_RANKING_PROCESSES": "0"})
    assert caught.value.field == "ROADSHOW_RANKING_PROCESSES"


def _niceness() -> int:
    return os.nice(0)


def test_workers_run_at_the_ranking_niceness_below_the_parent() -> None:
    work = Compute(1, niceness=7)
    try:
        assert asyncio.run(work.run(_niceness)) == min(os.nice(0) + 7, 19)
    finally:
        work.shutdown()


def test_the_ranking_niceness_is_a_setting() -> None:
    assert Settings.from_env({}).ranking_niceness == 15
    assert Settings.from_env({"ROADSHOW_RANKING_NICENESS": "0"}).ranking_niceness == 0
    for bad in ("-1", "20", "low"):
        with pytest.raises(InvalidInputError) as caught:
            Settings.from_env({"ROADSHOW_RANKING_NICENESS": bad})
        assert caught.value.field == "ROADSHOW_RANKING_NICENESS"
