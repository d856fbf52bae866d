"""Which attempts run, and where: per (task, scene) the attempt indices still wanted, run in this
process or in a pool of spawned worker processes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gr_bench.collect.rollout import Recorder, init_worker, run_in_worker
from gr_bench.collect.spec import CollectionSpec

MIN_FAILURES_ALLOWED = 10  # failed rollouts of a (task, scene) before it is given up, or its quota if more


@dataclass
class AttemptGroup:
    """The attempts of one (task, scene): indices are tried smallest first, and a new one only
    when an attempt fails, so the kept episodes are the first ``quota`` successes whatever the
    order in which attempts finish or are resumed."""

    quota: int
    ok: set[int] = field(default_factory=set)
    failed: dict[int, dict[str, Any]] = field(default_factory=dict)
    running: set[int] = field(default_factory=set)

    def next_indices(self) -> list[int]:
        if len(self.failed) >= max(MIN_FAILURES_ALLOWED, self.quota):
            return []  # given up: the collection reports it
        picked, i = [], 0
        while len(self.ok) + len(self.running) + len(picked) < self.quota:
            if i not in self.ok and i not in self.failed and i not in self.running:
                picked.append(i)
            i += 1
        self.running.update(picked)
        return picked

    def record(self, index: int, result: dict[str, Any]) -> None:
        self.running.discard(index)
        if result["success"]:
            self.ok.add(index)
        else:
            self.failed[index] = result


def run_attempts(
    spec: CollectionSpec, staging: Path, groups: dict[tuple[str, str], AttemptGroup], workers: int, progress: bool
) -> None:
    bar = None
    if progress:
        from tqdm import tqdm

        done = sum(len(g.ok) for g in groups.values())
        bar = tqdm(total=sum(g.quota for g in groups.values()), initial=done, desc="collect", unit="episode")

    def record(key: tuple[str, str], index: int, result: dict[str, Any]) -> None:
        groups[key].record(index, result)
        if bar is not None:
            bar.update(int(result["success"]))
            bar.set_postfix(failed=sum(len(g.failed) for g in groups.values()))

    def pending() -> list[tuple[tuple[str, str], int]]:
        return [(key, i) for key, g in groups.items() for i in g.next_indices()]

    try:
        if workers == 1:
            recorder = None
            while batch := pending():
                recorder = recorder or Recorder(spec, staging)
                for key, index in batch:
                    record(key, index, recorder.run(*key, index))
            return
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        # spawn, not fork: a forked child of a process that holds an EGL context hangs
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(spec.to_json(), str(staging)),
        )
        try:
            running = {}
            while True:
                for key, index in pending():
                    running[pool.submit(run_in_worker, *key, index)] = (key, index)
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    key, index = running.pop(future)
                    record(key, index, future.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if bar is not None:
            bar.close()
