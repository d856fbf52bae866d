"""Batching: concurrent clients' ``act`` requests go to the model together.

All agent code runs on one thread (the model is never called from two at once). While it is busy,
``act`` requests from other connections queue up; when it is free, everything queued (at most
``max_batch``, after waiting ``wait`` seconds for more) goes in one call. An agent that has the
optional hook ``act_batch(agents, observations) -> outputs`` (called on the server's own instance,
with every session's agent and observation) answers them in one model call; any other agent's
``act`` is called once per request, in turn. If ``act_batch`` raises, each request is answered
alone, so one bad observation fails only its own client.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any


class Batcher:
    def __init__(
        self,
        executor: concurrent.futures.Executor,
        run_batch: Callable[[list[tuple[Any, Any]]], list[Any]],
        max_batch: int = 8,
        wait: float = 0.0,
    ):
        if max_batch < 1:
            raise ValueError(f"the batch size must be at least 1, got {max_batch}")
        self.executor, self.run_batch, self.max_batch, self.wait = executor, run_batch, max_batch, wait
        self._pending: list[tuple[Any, Any, asyncio.Future]] = []
        self._draining = False
        self.sizes: list[int] = []  # the size of every batch run (for the status request and tests)

    async def submit(self, session: Any, observation: Any) -> Any:
        """The session's output for ``observation`` (raises what its agent raised)."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((session, observation, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def run(self, fn: Callable[[], Any]) -> Any:
        """Other agent calls (seed, bind, reset), on the same thread as the batches."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                if self.wait and len(self._pending) < self.max_batch:
                    await asyncio.sleep(self.wait)
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                batch = [item for item in batch if not item[2].cancelled()]  # their clients left
                if not batch:
                    continue
                self.sizes.append(len(batch))
                try:
                    results = await loop.run_in_executor(self.executor, self.run_batch, [(s, o) for s, o, _ in batch])
                except BaseException as exc:  # noqa: BLE001 - every waiting client hears of it
                    results = [exc] * len(batch)
                for (_, _, future), result in zip(batch, results, strict=True):
                    if future.cancelled():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._draining = False
