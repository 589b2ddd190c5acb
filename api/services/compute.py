"""CPU work of one API process (ranking) in worker processes, so the event loop keeps its GIL.

A thread is not enough: numpy, polars and scikit-learn hold the GIL through most of their small
operations, so a ranking in a worker thread starves the event loop (bench/results/lists.md: /health kept
13–28 % of its idle rate with eight rankings in flight, whether or not the native thread pools were
limited to one thread). Each worker is a process of its own (spawned, not forked: the parent runs
threads) that keeps large objects between calls, so a request sends an investor id, not a model of
100 MB or a frame of 20,000 startups.

Objects live in the workers under a ``Ref``. The parent ``define``s how to make each one (a function
and its arguments, which may name other refs); a worker that lacks a ref when a call needs it makes it
then, from its definition. A ref may name a ``stale`` one that serves while it is made: the worker then
makes it in a thread of its own and answers from the stale object meanwhile (a startup pool rebuilt
after profile edits, the previous pool serving), as the parent's event loop never waits on it. A worker
keeps the few refs it used last; whatever it dropped is made again on demand.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
Key = tuple[Hashable, ...]  # e.g. ("pool", model version, serving model, profiles)
# Refs a worker keeps: the serving model and its predecessor, the startup pool being built and the one
# serving, the warm-up profiles.
KEPT = 6
logger = logging.getLogger("api")


@dataclass(frozen=True, slots=True)
class Ref:
    """Names an object kept in the workers; ``stale`` names older ones (newest first) that may serve
    while it is made."""

    key: Key
    stale: tuple[Key, ...] = ()


class Missing(Exception):  # noqa: N818  # a request from a worker to the parent, not an error
    """A worker lacks ``key`` (``background``: it serves from the stale ref while ``key`` is made)."""

    def __init__(self, key: Key, background: bool = False) -> None:
        super().__init__(key, background)
        self.key = key
        self.background = background


# --- in a worker process -----------------------------------------------------------------------------

_kept: OrderedDict[Key, Any] = OrderedDict()
_made_from: dict[Key, set[Key]] = {}  # kept key -> the keys of the refs it was made from
_building: set[Key] = set()
_lock = threading.Lock()


def _resolve(value: Any) -> Any:
    if not isinstance(value, Ref):
        return value
    with _lock:
        if value.key in _kept:
            _kept.move_to_end(value.key)
            return _kept[value.key]
        present = [key for key in value.stale if key in _kept]
        if present:
            if not _building & {value.key, *value.stale}:
                raise Missing(value.key, background=True)
            _kept.move_to_end(present[0])
            return _kept[present[0]]
    raise Missing(value.key)


def _drop(key: Key) -> None:
    # What was made from a dropped object goes with it: a startup pool must never meet a model other
    # than the one it was encoded for (a model made again is a new object).
    _kept.pop(key, None)
    _made_from.pop(key, None)
    for other in [k for k, sources in _made_from.items() if key in sources]:
        _drop(other)


def _keep(key: Key, obj: Any, sources: set[Key]) -> None:
    with _lock:
        _building.discard(key)
        if not sources <= _kept.keys():
            return  # a source was dropped while this was made: it is made again when needed
        _kept[key] = obj
        _made_from[key] = sources
        while len(_kept) > KEPT:
            _drop(next(iter(_kept)))


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], keep: Key | None,
          background: bool) -> Any:
    sources = {a.key for a in (*args, *kwargs.values()) if isinstance(a, Ref)}
    args = tuple(_resolve(a) for a in args)
    kwargs = {k: _resolve(v) for k, v in kwargs.items()}
    if keep is None:
        return fn(*args, **kwargs)
    if not background:
        _keep(keep, fn(*args, **kwargs), sources)
        return None

    def build() -> None:
        try:
            _keep(keep, fn(*args, **kwargs), sources)
        except Exception:  # the stale object keeps serving; the next call that needs it tries again
            logger.exception("building %r in the background failed", keep)
            with _lock:
                _building.discard(keep)

    with _lock:
        _building.add(keep)
    threading.Thread(target=build, daemon=True).start()
    return None


def call_method(obj: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """``obj.name(*args, **kwargs)``: what ``Compute.call`` runs in a worker."""
    return getattr(obj, name)(*args, **kwargs)


def attribute(obj: Any, *names: str) -> Any:
    """``obj.a.b`` for names ``a``, ``b``: what ``Compute.get`` runs in a worker."""
    for name in names:
        obj = getattr(obj, name)
    return obj


def same(obj: T) -> T:
    """The object itself: defines a ref as a value the parent already holds (sent once per worker)."""
    return obj


def _start_worker(niceness: int) -> None:
    # Below the event loop's priority: on a machine with few cores a ranking otherwise takes the core the
    # event loop needs, and every other request waits on it.
    os.nice(niceness)
    # One ranking at a time in a worker: its native libraries need no second thread of their own.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


# --- in the parent -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Definition:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


class Compute:
    """``processes`` worker processes, each started on first use at ``niceness`` below this process's
    priority; one call at a time in each (more calls wait here, costing the event loop nothing)."""

    def __init__(self, processes: int, niceness: int = 0) -> None:
        if processes < 1:
            raise ValueError("at least one worker process")
        self.processes = processes
        self.niceness = niceness
        self._definitions: dict[Key, _Definition] = {}
        self._workers: list[ProcessPoolExecutor | None] = [None] * processes
        self._idle: asyncio.Queue[int] | None = None

    def define(self, key: Key, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Ref:
        """How a worker makes the object named ``key`` when a call needs it."""
        self._definitions[key] = _Definition(fn, args, kwargs)
        return Ref(key)

    def forget(self, keep: Callable[[Key], bool]) -> None:
        """Drop the definitions whose key ``keep`` refuses (what they hold: old models, old profiles)."""
        for key in [k for k in self._definitions if not keep(k)]:
            del self._definitions[key]

    async def call(self, ref: Ref, method: str, *args: Any, **kwargs: Any) -> Any:
        """``obj.method(*args, **kwargs)`` in a worker, for the object named by ``ref``."""
        return await self.run(call_method, ref, method, *args, **kwargs)

    async def get(self, ref: Ref, *names: str) -> Any:
        """The attribute ``names`` (a path) of the object named by ``ref``, from a worker."""
        return await self.run(attribute, ref, *names)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a free worker, refs among the arguments replaced by their objects."""
        if self._idle is None:
            self._idle = asyncio.Queue()
            for slot in range(self.processes):
                self._idle.put_nowait(slot)
        slot = await self._idle.get()
        try:
            result: T = await self._on(slot, _Definition(fn, args, kwargs))
            return result
        finally:
            self._idle.put_nowait(slot)

    async def _on(self, slot: int, work: _Definition, keep: Key | None = None, *, background: bool = False,
                  depth: int = 0) -> Any:
        loop = asyncio.get_running_loop()
        while True:
            try:
                return await loop.run_in_executor(self._worker(slot), _call, work.fn, work.args, work.kwargs, keep,
                                                  background)
            except Missing as missing:
                definition = self._definitions.get(missing.key)
                if definition is None or depth > len(self._definitions):
                    raise LookupError(f"nothing defines {missing.key!r}") from None
                await self._on(slot, definition, missing.key, background=missing.background, depth=depth + 1)
            except BrokenProcessPool:
                # The worker died (killed, out of memory): a new one starts on the next call.
                self._workers[slot] = None
                raise

    def _worker(self, slot: int) -> ProcessPoolExecutor:
        worker = self._workers[slot]
        if worker is None:
            worker = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_worker, initargs=(self.niceness,))
            self._workers[slot] = worker
        return worker

    def shutdown(self) -> None:
        for slot, worker in enumerate(self._workers):
            if worker is not None:
                worker.shutdown(wait=True, cancel_futures=True)
            self._workers[slot] = None
