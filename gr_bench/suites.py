"""Evaluation suites: frozen, versioned lists of episodes, each identified by a content hash.

A suite version is the union of the environment families' tracks for it (``envs.family.Track``,
declared in each family's ``tracks.py``), in registration order: a family's track declared at
version N is its part of every later version until it declares a newer one. So a new family or a
new track makes a new suite version and never changes a released one. A suite is generated
deterministically from its name and version; every results file records the suite's hash, so two
numbers are comparable only when they were earned on the same episodes. Building a suite imports
the families' task lists, instruction banks and axes (and with them the mujoco module) but compiles
no model and runs no simulation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np

from envs.episodes import MAX_STEPS_PER_TASK, Episode, keyed_rng, keyed_seed

__all__ = ["ALL_TRACKS", "MAX_STEPS_PER_TASK", "Episode", "Suite", "get_suite", "suite_names", "versions"]


ALL_TRACKS = "all"  # the track of a suite that is not one family's part: every family's episodes


@dataclass(frozen=True)
class Suite:
    name: str
    version: int
    description: str
    episodes: tuple[Episode, ...]
    # the one family's track these episodes were selected from (a family id), else "all"
    track: str = ALL_TRACKS
    # a filtered or subsampled view: the suite or track it was drawn from, {"track", "hash",
    # "episodes"}; None where the episodes are a whole released suite or track
    subset_of: dict[str, Any] | None = None

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON of the name, version and episodes, and of the track where
        the suite is one family's track (so a whole suite's hash is what it always was)."""
        payload: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "episodes": [e.to_json() for e in self.episodes],
        }
        if self.track != ALL_TRACKS:
            payload["track"] = self.track
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def track_hash(self, track: str) -> str:
        """The hash of one track of this suite: sha256 of the canonical JSON of the suite's name and
        version, the track id and the track's episodes (``ALL_TRACKS``: the suite's own hash)."""
        return self.select(track=track).hash

    def track_sizes(self) -> dict[str, int]:
        """Track id -> its number of episodes, in order."""
        return {track: len(self.select(track=track).episodes) for track in self.tracks}

    def with_secret(self, secret: str, phrasings: dict[str, Any] | None = None) -> Suite:
        """The hidden split: the same episodes with seeds drawn from a maintainers' secret, so a
        top submission can be re-run on initial states nobody tuned on. Each unseen-scene variation
        is drawn again from the secret within its axis's pinned unseen range, and with
        ``phrasings`` (a bank kept with the secret, never in the repository: task -> phrasings, or
        task -> category -> phrasings) each instruction it covers is drawn from it instead. A pure
        function of the secret, run no simulation: where the release screened its starts, the
        split is run after ``rescreened``."""
        if not secret.strip():
            raise ValueError("the secret for the hidden split is empty")
        check_phrasings(phrasings)
        pinned = (
            {env_id: dict(axes) for env_id, axes in unseen_axes(self.version).items()} if self.name == "unseen" else {}
        )
        episodes = []
        for e in self.episodes:
            changes: dict[str, Any] = {"seed": _seed("hidden", secret, e.episode_id)}
            ranges = pinned.get(e.env_id, {})
            if e.variations and any(axis in ranges for axis in e.variations):
                from envs.family import family_named

                axes = family_named(e.env_id).axes()
                changes["variations"] = {
                    axis: axes[axis].sampler(ranges[axis], keyed_rng("hidden", secret, e.episode_id, axis))
                    if axis in ranges
                    else value
                    for axis, value in e.variations.items()
                }
            if phrasings:
                changes["instructions"] = tuple(
                    _hidden_phrase(phrasings, task, e.instruction_category, secret, e.episode_id, i) or phrase
                    for i, (task, phrase) in enumerate(zip(e.tasks, e.instructions, strict=True))
                )
            episodes.append(replace(e, **changes))
        return Suite(
            self.name, self.version, f"{self.description} (hidden split)", tuple(episodes), self.track, self.subset_of
        )

    def rescreened(self) -> Suite:
        """This suite with every start its release screened screened the same way
        (``envs.family.Track.rescreen``: a family's starts screened for blind-solvable tasks). A
        hidden split (``with_secret``) re-draws seeds, so it goes through this before it is run, or
        it would draw starts from another distribution than the released suite's. Runs the
        simulator where a track screens (seconds per screened episode); else returns the suite."""
        from envs.family import families

        episodes = list(self.episodes)
        for family in families():
            track = family.track(self.name, self.version)
            where = [i for i, e in enumerate(episodes) if e.env_id == family.env_id]
            if track is None or track.rescreen is None or not where:
                continue
            moved = track.rescreen([episodes[i] for i in where])
            for i, episode in zip(where, moved, strict=True):
                episodes[i] = episode
        return replace(self, episodes=tuple(episodes))

    def select(
        self,
        *,
        env: str | None = None,
        track: str | None = None,
        task: str | tuple[str, ...] | None = None,
        axis: str | None = None,
        category: str | None = None,
        episodes: int | None = None,
    ) -> Suite:
        """A filtered view (a deterministic evenly spaced subsample when ``episodes`` is given).

        ``track`` keeps one family's episodes, and the view knows its track (its hash then covers
        the track id, ``track_hash``); ``ALL_TRACKS`` keeps every family's. ``task`` keeps episodes
        that include the task, or any of several tasks; ``category`` keeps episodes of one
        instruction category (train, eval, ..., invalid)."""
        wanted = (task,) if isinstance(task, str) else task
        if track == ALL_TRACKS:
            track = None
        if track is not None:
            self._check_names("track", [track], set(self.tracks))
            from envs.family import family_named

            track_env = family_named(track).env_id
            if env is not None and env != track_env:
                raise ValueError(f"--env {env} is not the environment of track {track!r} ({track_env})")
            env = track_env
        self._check_names("environment", [env] if env else [], {e.env_id for e in self.episodes})
        self._check_names("task", wanted or [], {t for e in self.episodes for t in e.tasks})
        self._check_names("axis", [axis] if axis else [], {e.axis for e in self.episodes})
        self._check_names(
            "instruction category", [category] if category else [], {e.instruction_category for e in self.episodes}
        )
        if episodes is not None and episodes < 1:
            raise ValueError(f"--episodes must be at least 1, got {episodes}")
        chosen = [
            e
            for e in self.episodes
            if (env is None or e.env_id == env)
            and (wanted is None or any(t in e.tasks for t in wanted))
            and (axis is None or e.axis == axis)
            and (category is None or e.instruction_category == category)
        ]
        if episodes is not None and episodes < len(chosen):
            chosen = [chosen[i] for i in np.linspace(0, len(chosen) - 1, episodes).round().astype(int)]
        view = Suite(self.name, self.version, self.description, tuple(chosen), track or self.track, self.subset_of)
        if view.subset_of is None:
            # what was released: this suite, or the one track asked for
            whole = self
            if track is not None:
                whole = replace(view, episodes=tuple(e for e in self.episodes if e.env_id == env))
            if len(chosen) < len(whole.episodes):
                subset_of = {"track": whole.track, "hash": whole.hash, "episodes": len(whole.episodes)}
                view = replace(view, subset_of=subset_of)
        return view

    def describe(self) -> str:
        """``seen v2`` (with its track), or for a subset ``20 of the 220 episodes of seen v2``,
        with the hash of what was drawn from (the released one) and of the subset."""
        name = f"{self.name} v{self.version}" + (f", track {self.track}" if self.track != ALL_TRACKS else "")
        if self.subset_of is None:
            return f"{name} ({self.hash[:12]})"
        return (
            f"{len(self.episodes)} of the {self.subset_of['episodes']} episodes of {name} "
            f"({self.subset_of['hash'][:12]}; subset {self.hash[:12]})"
        )

    @property
    def tracks(self) -> tuple[str, ...]:
        """The families (their ids) whose tracks this suite's episodes come from, in order."""
        from envs.family import family_named

        env_ids = dict.fromkeys(e.env_id for e in self.episodes)
        return tuple(family_named(env_id).id for env_id in env_ids)

    def _check_names(self, kind: str, names, known: set[str]) -> None:
        """A name no episode of this suite has is a typo, not an empty selection."""
        from envs.errors import close_matches

        for name in names:
            if name not in known:
                close = close_matches(name, known)
                hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise ValueError(
                    f"suite {self.name!r} has no episode with {kind} {name!r}.{hint} "
                    f"Its {kind} values: {', '.join(sorted(known))}."
                )


def check_phrasings(phrasings: Any) -> None:
    """A hidden phrasing bank is a JSON object: task -> non-empty list of phrasings (for the train
    and eval categories), or task -> {category: non-empty list of phrasings}."""
    if phrasings is None:
        return
    if not isinstance(phrasings, dict):
        raise ValueError("the phrasing bank must be a JSON object of task -> phrasings")
    for task, entry in phrasings.items():
        banks = entry if isinstance(entry, dict) else {"train/eval": entry}
        for category, bank in banks.items():
            if not isinstance(bank, list) or not bank or not all(isinstance(p, str) and p.strip() for p in bank):
                raise ValueError(
                    f"the phrasing bank's entry {task!r} ({category}) must be a non-empty list of phrasings"
                )


def _hidden_phrase(phrasings: dict[str, Any], task: str, category: str, secret: str, episode_id: str, index: int):
    """The bank's phrasing for the ``index``-th task of an episode, drawn from the secret; None where
    the bank does not cover the task in that category (the public phrasing stays)."""
    entry = phrasings.get(task)
    if entry is None:
        return None
    bank = entry.get(category) if isinstance(entry, dict) else entry if category in ("train", "eval") else None
    if not bank:
        return None
    return bank[int(keyed_rng("hidden phrasing", secret, episode_id, index).integers(len(bank)))]


_rng = keyed_rng  # the names other modules and scripts have used
_seed = keyed_seed


def suite_names() -> tuple[str, ...]:
    """Every suite some registered family has a track for, in declaration order."""
    from envs.family import families

    return tuple(dict.fromkeys(t.suite for f in families() for t in f.tracks()))


def versions(name: str) -> tuple[int, ...]:
    """Every version of suite ``name``, oldest first; the last is the current one. A new version
    keeps the tracks of the one before byte-identical, so records can be reused."""
    from envs.family import families

    return tuple(sorted({t.version for f in families() for t in f.tracks() if t.suite == name}))


def unseen_axes(version: int) -> dict[str, tuple[tuple[str, dict[str, Any]], ...]]:
    """Environment id -> the axes and unseen ranges `unseen` ``version`` pins for it."""
    from envs.family import families

    tracks = {f.env_id: f.track("unseen", version) for f in families()}
    return {env_id: track.axes for env_id, track in tracks.items() if track is not None}


def get_suite(name: str, version: int | None = None) -> Suite:
    """The suite ``name`` at ``version`` (default: the current one)."""
    from envs.family import families

    if name not in suite_names():
        from envs.errors import unknown_name_error

        raise unknown_name_error("suite", name, suite_names())
    known = versions(name)
    version = known[-1] if version is None else version
    if version not in known:
        raise ValueError(f"suite {name!r} has versions {list(known)}, not {version!r}")
    return _build(name, version, tuple(f.id for f in families()))


def clear_cache() -> None:
    """Forget built suites (tests that change a family's axes or tracks build them again)."""
    _build.cache_clear()


@cache
def _build(name: str, version: int, family_ids: tuple[str, ...]) -> Suite:
    from envs.family import family_named

    episodes, descriptions = [], []
    for family_id in family_ids:
        track = family_named(family_id).track(name, version)
        if track is not None:
            episodes += track.build()
            descriptions.append(track.description)
    return Suite(name, version, "; ".join(descriptions), tuple(episodes))
