"""Tidying tasks: which object goes where, named so that the name says it all, and their oracles.

A task name is ``clear_table`` (every object on the table to where it belongs: dishes and cutlery
into the dish tub, rubbish and leftover food into the bin) or a request built from clauses,
``put_<objects>_<in|on>_<destination>`` joined by ``_and_``, with objects joined by ``_and_`` too:

    put_cup_in_tub                         one object to one destination
    put_cup_and_bowl_in_tub                several objects
    put_cup_in_tub_and_can_in_bin          several destinations
    put_apple_on_tray                      a destination never used in training (the tray)
    put_teapot_in_bin                      invalid: nothing of the kind is on the table

The category follows from the name. Oracles read simulator state: an object counts as placed when
its centre of mass is inside the container (within its walls, below its rim plus a little) and the
gripper does not touch it. Progress is the fraction of the task's objects placed where they belong
(GR-3's average task progress); success is all of them. An invalid request succeeds while nothing
on the table has moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from envs.errors import unknown_name_error
from envs.tidy.objects import ABSENT_THINGS, KINDS, TRAIN_KINDS, get_kind
from envs.tidy.sim import TidySnapshot

CATEGORIES = ("whole_table", "one_object", "several_objects", "several_destinations", "unseen_destination", "invalid")
CLEAR_TABLE = "clear_table"
PREPOSITION = {"bin": "in", "tub": "in", "tray": "on"}
UNTOUCHED_MOVE = 0.02  # metres an object may shift (settling, a brush) and still count as untouched
_CLAUSE = re.compile(r"(?P<objects>[a-z_]+?)_(?P<prep>in|on)_(?P<dest>[a-z]+?)(?:_and_|$)")


@dataclass(frozen=True)
class TidyTask:
    name: str
    category: str
    request: tuple[tuple[str, str], ...]  # (thing, destination) as the name asks; empty for clear_table

    @property
    def goals(self) -> tuple[tuple[str, str], ...]:
        """(object kind, destination) pairs to achieve; none for clear_table (see ``goals_for``) and invalid."""
        return () if self.category == "invalid" else self.request

    @property
    def absent(self) -> str | None:
        """Invalid requests: the thing named that is not on the table."""
        return self.request[0][0] if self.category == "invalid" else None

    @property
    def named_kinds(self) -> tuple[str, ...]:
        """Object kinds the table must hold for this task."""
        return tuple(kind for kind, _ in self.goals)

    @property
    def uses_tray(self) -> bool:
        return any(dest == "tray" for _, dest in self.goals)

    def goals_for(self, objects: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """The (object, destination) pairs to achieve on a table holding ``objects``."""
        if self.name == CLEAR_TABLE:
            return tuple((kind, get_kind(kind).destination) for kind in objects)
        return self.goals

    def evaluate(self, objects: tuple[str, ...], start: TidySnapshot, now: TidySnapshot) -> tuple[bool, float, list]:
        """Success, progress in [0, 1] and per-subtask outcomes (dicts: object, destination, done).

        An invalid request has one subtask, object and destination None: done while nothing has moved."""
        if self.category == "invalid":
            still = untouched(objects, start, now)
            return still, float(still), [{"object": None, "destination": None, "done": still}]
        outcomes = [
            {"object": kind, "destination": dest, "done": now.placed_in(kind) == dest}
            for kind, dest in self.goals_for(objects)
        ]
        done = [o["done"] for o in outcomes]
        return all(done), float(np.mean(done)) if done else 0.0, outcomes


def untouched(objects: tuple[str, ...], start: TidySnapshot, now: TidySnapshot) -> bool:
    """No object has moved more than ``UNTOUCHED_MOVE`` since ``start``, nor is held now."""
    return all(np.linalg.norm(now.com[k] - start.com[k]) < UNTOUCHED_MOVE and not now.held(k) for k in objects)


def task_name(goals: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    """The canonical name of a request: consecutive objects with one destination share a clause."""
    clauses: list[tuple[list[str], str]] = []
    for kind, dest in goals:
        if clauses and clauses[-1][1] == dest:
            clauses[-1][0].append(kind)
        else:
            clauses.append(([kind], dest))
    return "put_" + "_and_".join(f"{'_and_'.join(kinds)}_{PREPOSITION[dest]}_{dest}" for kinds, dest in clauses)


def get_task(name: str) -> TidyTask:
    if not isinstance(name, str):
        raise ValueError(f"a task is named by a string, got {name!r}")
    if name == CLEAR_TABLE:
        return TidyTask(CLEAR_TABLE, "whole_table", ())
    help_ = (
        f"a tidy task is {CLEAR_TABLE!r} or put_<objects>_<in|on>_<destination>[_and_...], "
        "e.g. 'put_cup_in_tub', 'put_cup_and_bowl_in_tub', 'put_cup_in_tub_and_can_in_bin', 'put_apple_on_tray'"
    )
    if not name.startswith("put_"):
        raise ValueError(f"unknown tidy task {name!r}: {help_}")
    rest, pos, goals = name[len("put_") :], 0, []
    while pos < len(rest):
        match = _CLAUSE.match(rest, pos)
        if match is None:
            raise ValueError(f"unknown tidy task {name!r}: {help_}")
        dest, prep = match["dest"], match["prep"]
        if dest not in PREPOSITION:
            raise unknown_name_error("destination", dest, PREPOSITION)
        if prep != PREPOSITION[dest]:
            raise ValueError(f"task {name!r}: say '{PREPOSITION[dest]}_{dest}', not '{prep}_{dest}'")
        goals += [(kind, dest) for kind in match["objects"].split("_and_")]
        pos = match.end()
    kinds = [kind for kind, _ in goals]
    absent = [k for k in kinds if k in ABSENT_THINGS]
    if absent:
        if len(goals) != 1:
            raise ValueError(f"task {name!r}: an invalid request names one absent thing and nothing else")
        return TidyTask(name, "invalid", tuple(goals))
    for kind in kinds:
        if kind not in KINDS:
            raise unknown_name_error("object", kind, [*KINDS, *ABSENT_THINGS])
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"task {name!r} names an object twice")
    if name != task_name(goals):
        raise ValueError(f"task {name!r} is better written {task_name(goals)!r}; use that name")
    dests = {dest for _, dest in goals}
    if "tray" in dests:
        category = "unseen_destination"
    elif len(goals) == 1:
        category = "one_object"
    else:
        category = "several_objects" if len(dests) == 1 else "several_destinations"
    return TidyTask(name, category, tuple(goals))


def tasks_in_category(category: str, kinds: tuple[str, ...] = TRAIN_KINDS) -> tuple[str, ...]:
    """A fixed list of tasks of one category over ``kinds``, for building suites and datasets:
    every object to where it belongs; neighbouring pairs (and one triple) sharing a destination;
    pairs bound for different ones; every object onto the tray; every absent thing."""
    if category not in CATEGORIES:
        raise unknown_name_error("instruction category", category, CATEGORIES)
    by_dest: dict[str, list[str]] = {}
    for kind in kinds:
        by_dest.setdefault(get_kind(kind).destination, []).append(kind)
    if category == "whole_table":
        return (CLEAR_TABLE,)
    if category == "one_object":
        return tuple(task_name([(k, get_kind(k).destination)]) for k in kinds)
    if category == "several_objects":
        names = []
        for dest, group in sorted(by_dest.items()):
            names += [task_name([(a, dest), (b, dest)]) for a, b in zip(group, group[1:], strict=False)]
            if len(group) >= 3:
                names.append(task_name([(k, dest) for k in group[:3]]))
        return tuple(names)
    if category == "several_destinations":
        dishes, rubbish = by_dest.get("tub", []), by_dest.get("bin", [])
        return tuple(task_name([(a, "tub"), (b, "bin")]) for a, b in zip(dishes, rubbish, strict=False))
    if category == "unseen_destination":
        return tuple(task_name([(k, "tray")]) for k in kinds)
    return tuple(task_name([(thing, ("bin", "tub")[i % 2])]) for i, thing in enumerate(ABSENT_THINGS))
