"""Paired comparisons: the same episodes under two conditions, compared episode by episode.

Two runs of one episode list (two checkpoints), or one run of a suite that holds each episode in two
environments (``cross-sim``: each episode once per simulator, ids prefixed by the simulator's name),
differ by sampling noise far less than two independent draws would: only the episodes where exactly
one side succeeds say anything, and McNemar's exact test weighs them.
Headline episodes only, as every headline rate.
"""

from __future__ import annotations

import html
from collections import defaultdict
from math import comb
from typing import Any

from gr_bench.results import _rate


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact p of the discordant split under 'no difference' (a fair coin)."""
    n, k = only_a + only_b, min(only_a, only_b)
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def compare(pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    """Success of each side on the paired episodes (Wilson intervals), the discordant counts and
    McNemar's exact p."""
    both = sum(a and b for a, b in pairs)
    only_a = sum(a and not b for a, b in pairs)
    only_b = sum(b and not a for a, b in pairs)
    return {
        "pairs": len(pairs),
        "a": _rate(both + only_a, len(pairs)),
        "b": _rate(both + only_b, len(pairs)),
        "both": both,
        "only_a": only_a,
        "only_b": only_b,
        "p": mcnemar_exact(only_a, only_b),
    }


def across_envs(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A run's headline episodes paired across its two environments: records with the same id below
    its first segment, the same seed and tasks, in different environments. ``None`` unless every
    headline record pairs up with exactly one other, in one pair of environments (a suite that is not
    built that way has nothing to pair). Overall, per task and per unseen axis (``none``: seen)."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r.get("headline", True):
            _, _, below = r["episode_id"].partition("/")
            groups[(below, r["seed"], tuple(r["tasks"]))].append(r)
    if not groups or any(len(rows) != 2 or rows[0]["env_id"] == rows[1]["env_id"] for rows in groups.values()):
        return None
    envs = sorted({r["env_id"] for rows in groups.values() for r in rows})
    if len(envs) != 2:
        return None
    pairs: list[tuple[dict[str, Any], bool, bool]] = []
    for rows in groups.values():
        by_env = {r["env_id"]: r for r in rows}
        pairs.append((by_env[envs[0]], bool(by_env[envs[0]]["success"]), bool(by_env[envs[1]]["success"])))
    per: dict[str, dict[str, list[tuple[bool, bool]]]] = {"task": defaultdict(list), "axis": defaultdict(list)}
    for first, a, b in pairs:
        per["axis"][first["axis"]].append((a, b))
        if len(first["tasks"]) == 1:
            per["task"][first["tasks"][0]].append((a, b))
    return {
        "envs": envs,
        "overall": compare([(a, b) for _, a, b in pairs]),
        **{f"per_{key}": {k: compare(v) for k, v in sorted(rows.items())} for key, rows in per.items()},
    }


def table_rows(paired: dict[str, Any]) -> tuple[str, list[str], list[list[str]]]:
    """The report's section as (caption, header, rows of cells): each environment's success on the
    same episodes, overall, per axis and per task."""
    a, b = paired["envs"]
    caption = (
        f"Paired across environments ({paired['overall']['pairs']} episodes, each run in both; "
        "p: McNemar's exact test on the episodes exactly one side solved):"
    )
    header = ["group", a, b, "difference", f"only {a.split('/')[-1]} / only {b.split('/')[-1]}", "p", "n"]

    def row(label: str, c: dict[str, Any]) -> list[str]:
        (alo, ahi), (blo, bhi) = c["a"]["ci95"], c["b"]["ci95"]
        return [
            label,
            f"{c['a']['rate']:.1%} [{alo:.0%}, {ahi:.0%}]",
            f"{c['b']['rate']:.1%} [{blo:.0%}, {bhi:.0%}]",
            f"{c['b']['rate'] - c['a']['rate']:+.1%}",
            f"{c['only_a']} / {c['only_b']}",
            f"{c['p']:.2g}",
            str(c["pairs"]),
        ]

    rows = [row("overall", paired["overall"])]
    rows += [row(f"axis: {k}", c) for k, c in paired["per_axis"].items()]
    rows += [row(f"task: {k}", c) for k, c in paired["per_task"].items()]
    return caption, header, rows


def markdown_lines(paired: dict[str, Any]) -> list[str]:
    """The report's section in Markdown."""
    caption, header, rows = table_rows(paired)
    out = [caption, "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    rows[0][0] = "**overall**"
    return out + ["| " + " | ".join(cells) + " |" for cells in rows]


def html_table(paired: dict[str, Any]) -> str:
    """The report's section as an HTML table."""
    caption, header, rows = table_rows(paired)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>" for cells in rows)
    return f"<p>{html.escape(caption)}</p><table><tr>{head}</tr>{body}</table>"
