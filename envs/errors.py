"""Errors that tell the user what was wrong and what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TaskPreconditionError(ValueError):
    """The chosen initial state does not allow the task (e.g. ``open_drawer`` with the drawer open)."""


class PhysicsError(RuntimeError):
    """The simulation became unstable (NaN or exploding state)."""


def close_matches(name: str, known: Iterable[str]) -> list[str]:
    """Up to three of ``known`` that ``name`` may have meant: spelled alike, or containing it
    ('tidy' for GRBench/Tidy-v0)."""
    known = sorted(known)
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    close += [k for k in known if str(name).lower() in k.lower() and k not in close]
    return close[:3]


def unknown_name_error(kind: str, name: str, known: Iterable[str]) -> ValueError:
    known = sorted(known)
    close = close_matches(name, known)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(f"unknown {kind} {name!r}.{hint} Known {kind}s: {', '.join(known)}.")
