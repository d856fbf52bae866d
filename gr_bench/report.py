"""Generalization reports from a results file: a printed table, report.md and a self-contained
report.html with plots (matplotlib, embedded as PNG)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from gr_bench.blind_flags import report_lines
from gr_bench.paired import across_envs, html_table, markdown_lines


def chain_groups(agg: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The chain statistics to show, in order: each protocol (CALVIN's ABC->D first, marked as the
    headline), then all chains pooled; a run of one protocol shows it alone."""
    per_axis = agg.get("chains_per_axis", {})
    if len(per_axis) <= 1:
        return [(next(iter(per_axis), "all").removeprefix("long_horizon_"), agg["chains"])]
    order = sorted(per_axis, key=lambda axis: (axis != "long_horizon_ABC-D", axis))
    groups = [
        (axis.removeprefix("long_horizon_") + (" (headline)" if axis == "long_horizon_ABC-D" else ""), per_axis[axis])
        for axis in order
    ]
    return [*groups, ("pooled", agg["chains"])]


def beside_headline_line(beside: dict[str, Any]) -> str:
    """The episodes scored beside the headline (tasks a blind control solves whatever the initial
    state), in one line."""
    tasks = ", ".join(f"{t} {r['successes']}/{r['n']}" for t, r in beside["per_task"].items())
    overall = beside["overall"]
    return (
        f"beside the headline (blind-solvable whatever the start, docs/blind_controls.md): "
        f"{overall['successes']}/{overall['n']} ({tasks})"
    )


def _pct(rate: dict[str, Any]) -> str:
    lo, hi = rate["ci95"]
    return f"{rate['rate']:6.1%} [{lo:.0%}, {hi:.0%}]  n={rate['n']}"


def _suite_title(suite: dict[str, Any]) -> str:
    """``seen v2``, or ``seen v2, track T`` for a run of one family's track."""
    track = suite.get("track", "all")  # files from before tracks ran the whole suite
    return f"{suite['name']} v{suite['version']}" + ("" if track == "all" else f", track {track}")


def _hash_line(suite: dict[str, Any]) -> str:
    """What was run, by hash: the suite or track, or a subset of one (N of its M episodes)."""
    kind = "Suite" if suite.get("track", "all") == "all" else "Track"
    if "subset_of" not in suite:
        return f"{kind} hash `{suite['hash']}`, {suite['episodes']} episodes"
    subset = suite["subset_of"]
    return (
        f"A subset: {suite['episodes']} of the {subset['episodes']} episodes of the {kind.lower()} with hash "
        f"`{subset['hash']}` (subset hash `{suite['hash']}`); not comparable with a whole run's numbers"
    )


def table(results: dict[str, Any], compare: dict[str, Any] | None = None) -> str:
    """Plain-text summary: overall, per axis, per category, chains, failures (and a second agent)."""
    agg = results["aggregates"]
    other = compare["aggregates"] if compare else None
    name = results["agent"]["name"]
    suite = results["suite"]
    if "subset_of" in suite:  # a filtered or subsampled run: not the released suite's number
        subset = suite["subset_of"]
        lines = [
            f"suite {_suite_title(suite)}: {suite['episodes']} of its {subset['episodes']} episodes "
            f"({subset['hash'][:12]}; this subset {suite['hash'][:12]})"
        ]
    else:
        lines = [f"suite {_suite_title(suite)} ({suite['hash'][:12]})"]
    if (results["agent"].get("config") or {}).get("latency_steps"):
        lines[0] += f", actions applied {results['agent']['config']['latency_steps']} control steps late"
    header = f"{'':28s} {name:>30s}" + (f" {compare['agent']['name']:>30s}" if compare else "")
    lines.append(header)

    def row(label: str, section: str, key: str) -> None:
        mine = agg.get(section, {}).get(key)
        theirs = other.get(section, {}).get(key) if other else None
        if mine is None and theirs is None:
            return
        text = f"{label:28s} {_pct(mine) if mine else '-':>30s}"
        if other is not None:
            text += f" {_pct(theirs) if theirs else '-':>30s}"
        lines.append(text)

    lines.append(f"{'overall':28s} {_pct(agg['overall']):>30s}" + (f" {_pct(other['overall']):>30s}" if other else ""))
    if "mean_progress" in agg or (other and "mean_progress" in other):
        lines.append(f"{'mean progress':28s} {_progress(agg):>30s}" + (f" {_progress(other):>30s}" if other else ""))
    envs = sorted(set(agg.get("per_env", {})) | set(other.get("per_env", {}) if other else ()))
    if len(envs) > 1:
        lines.append("-- per environment (success; mean progress)")
        for env_id in envs:
            cells = [_env_cell(a.get("per_env", {}).get(env_id)) for a in (agg, other) if a is not None]
            lines.append(f"  {env_id:26s} " + " ".join(f"{c:>30s}" for c in cells))
    for section, title in (("per_axis", "axis"), ("per_category", "instruction"), ("per_scene", "scene")):
        keys = sorted(set(agg[section]) | set(other[section] if other else ()))
        if len(keys) > 1:
            lines.append(f"-- per {title}")
            for key in keys:
                row(f"  {key}", section, key)
    if "chains" in agg:
        for label, chains in chain_groups(agg):
            after = " ".join(f"{k + 1}:{v:.0%}" for k, v in enumerate(chains["success_after"]))
            lines.append(f"-- chains {label} (n={chains['n']}): {after}  avg_len {chains['avg_len']:.2f}")
    if "beside_headline" in agg:
        lines.append(f"-- {beside_headline_line(agg['beside_headline'])}")
    for line in status_lines(agg):
        lines.append(f"-- {line}")
    if agg["failures"]:
        lines.append("-- failed episodes by reason: " + ", ".join(f"{k} {v}" for k, v in agg["failures"].items()))
    if results.get("timing"):
        lines.append(f"-- {timing_line(results['timing'])}")
    return "\n".join(lines)


def status_lines(agg: dict[str, Any]) -> list[str]:
    """The agent's statuses scored (results schema 3): refusals of impossible requests, and how
    often its "I am done" was true; "n/a" for a run in which the agent never reported one."""
    lines = []
    refusal = agg.get("refusal")
    if refusal is not None:
        if refusal.get("status") == "n/a":
            lines.append("refusals: n/a (no `invalid` or `terminated` status in this run)")
        else:
            lines.append(
                f"refusals ({refusal['refusals']}): recall {_pct(refusal['recall'])}, precision "
                f"{_pct(refusal['precision'])}, false refusals {_pct(refusal['false_refusal'])}"
            )
    claims = agg.get("done_claims")
    if claims is not None and claims.get("status") != "n/a":
        lines.append(
            f"'done' claims ({claims['claims']}): recall {_pct(claims['recall'])}, "
            f"precision {_pct(claims['precision'])}"
        )
    return lines


def timing_line(timing: dict[str, Any]) -> str:
    return (
        f"act() {timing['act_ms']:.2f} ms per call; of the episodes' wall time {timing['agent_share']:.0%} in the "
        f"agent, {timing['env_share']:.0%} in the environment ({timing['episodes']} episodes timed)"
    )


def _progress(agg: dict[str, Any]) -> str:
    return f"{agg['mean_progress']:6.1%}" if "mean_progress" in agg else "-"


def _env_cell(stats: dict[str, Any] | None) -> str:
    return f"{_pct(stats['overall'])}; {stats['mean_progress']:.2f}" if stats else "-"


def _bar_plot(ax, rates: dict[str, Any], title: str) -> None:
    names = list(rates)
    values = [rates[n]["rate"] for n in names]
    lows = [max(0.0, rates[n]["rate"] - rates[n]["ci95"][0]) for n in names]
    highs = [max(0.0, rates[n]["ci95"][1] - rates[n]["rate"]) for n in names]
    ax.barh(names, values, xerr=[lows, highs], color="#4c78a8", ecolor="#333333", capsize=2)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel("success rate (95% Wilson interval)")
    ax.tick_params(axis="y", labelsize=7)


def _gap_plot(results: dict[str, Any], seen: dict[str, Any]):
    """Per unseen axis: success under the axis beside the seen baseline, both with intervals."""
    import matplotlib.pyplot as plt

    axes_rates = results["aggregates"]["per_axis"]
    base = seen["aggregates"]["overall"]
    names = list(axes_rates)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.4))
    for i, name in enumerate(names):
        for offset, rate, colour in ((-0.18, base, "#9ecae9"), (0.18, axes_rates[name], "#e45756")):
            lo, hi = rate["ci95"]
            err = [[max(0.0, rate["rate"] - lo)], [max(0.0, hi - rate["rate"])]]
            ax.barh(i + offset, rate["rate"], height=0.34, color=colour, xerr=err, capsize=2)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("success rate (95% Wilson interval)")
    ax.set_title(f"seen ({seen['agent']['name']}, blue) vs each unseen axis (red)")
    return fig


def _figure_png(results: dict[str, Any], compare: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agg = results["aggregates"]
    figures = []
    panels = [
        ("per_task", "success per task"),
        ("per_axis", "success per generalization axis"),
        ("per_category", "success per instruction category"),
        ("per_object", "subtasks done per object"),
    ]
    for key, title in panels:
        rates = agg.get(key, {})
        if (len(rates) < 2 and key != "per_task") or not rates:
            continue
        fig, ax = plt.subplots(figsize=(7, 0.22 * len(rates) + 1.2))
        _bar_plot(ax, rates, title)
        figures.append((title, _to_base64(fig)))
        plt.close(fig)
    if compare is not None and len(agg["per_axis"]) > 1:
        fig = _gap_plot(results, compare)
        figures.append(("seen vs unseen gap per axis", _to_base64(fig)))
        plt.close(fig)
    if "chains" in agg:
        fig, ax = plt.subplots(figsize=(5, 3))
        for label, chains in chain_groups(agg):
            after = chains["success_after"]
            ax.plot(range(1, len(after) + 1), after, marker="o", label=f"{label} (avg len {chains['avg_len']:.2f})")
        ax.set_ylim(0, 1)
        ax.set_xlabel("tasks completed in a row")
        ax.set_ylabel("fraction of chains")
        ax.legend(fontsize=7)
        ax.set_title("chain success")
        figures.append(("chain success", _to_base64(fig)))
        plt.close(fig)
    return figures


def _to_base64(fig) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode()


def markdown(results: dict[str, Any]) -> str:
    agg = results["aggregates"]
    suite, agent = results["suite"], results["agent"]
    out = [
        f"# gr-bench report: {agent['name']} on {_suite_title(suite)}",
        "",
        _hash_line(suite) + f", git `{results['git_revision']}`.",
        "",
        "| group | success | 95% CI | n |",
        "|---|---|---|---|",
    ]
    latency = (agent.get("config") or {}).get("latency_steps")
    if latency:
        out[4:4] = [
            f"Latency-aware: each action was applied {latency} control steps after the observation it answers.",
            "",
        ]

    def rows(section: str, prefix: str) -> None:
        for key, rate in agg.get(section, {}).items():
            lo, hi = rate["ci95"]
            out.append(f"| {prefix}{key} | {rate['rate']:.1%} | {lo:.1%} - {hi:.1%} | {rate['n']} |")

    lo, hi = agg["overall"]["ci95"]
    out.append(f"| **overall** | **{agg['overall']['rate']:.1%}** | {lo:.1%} - {hi:.1%} | {agg['overall']['n']} |")
    for env_id, stats in agg.get("per_env", {}).items():
        lo, hi = stats["overall"]["ci95"]
        out.append(
            f"| env: {env_id} | {stats['overall']['rate']:.1%} | {lo:.1%} - {hi:.1%} | {stats['overall']['n']} |"
        )
    for section, prefix in (
        ("per_axis", "axis: "),
        ("per_category", "instruction: "),
        ("per_scene", "scene: "),
        ("per_task", "task: "),
        ("per_object", "subtasks, object: "),
    ):
        rows(section, prefix)
    if "per_env" in agg:
        out += ["", "| environment | mean progress | success | n |", "|---|---|---|---|"]
        out.append(f"| all | **{agg['mean_progress']:.3f}** | {agg['overall']['rate']:.1%} | {agg['overall']['n']} |")
        for env_id, stats in agg["per_env"].items():
            overall = stats["overall"]
            out.append(f"| {env_id} | **{stats['mean_progress']:.3f}** | {overall['rate']:.1%} | {overall['n']} |")
        out += [
            "",
            "Progress is GR-3's average task progress: what the environment measures where it does (e.g. the "
            "fraction of the objects a request names that were placed where it says), the fraction of a "
            "chain's tasks completed, or success for one task.",
        ]
    paired = across_envs(results.get("episodes", []))  # cross-sim: each episode in both simulators
    if paired:
        out += ["", *markdown_lines(paired)]
    blind = report_lines(agg.get("per_task", {}))  # leaderboards/blind_flags.json
    if blind:
        out += ["", blind[0], "", *(f"- {line}" for line in blind[1:])]
    if "beside_headline" in agg:
        out += ["", beside_headline_line(agg["beside_headline"])]
    statuses = status_lines(agg)
    if statuses:
        out += ["", *(f"- {line}" for line in statuses)]
    if "chains" in agg:
        out += ["", "| chains | n | average length | success after 1..5 tasks |", "|---|---|---|---|"]
        for label, chains in chain_groups(agg):
            after = ", ".join(f"{v:.1%}" for v in chains["success_after"])
            out.append(f"| {label} | {chains['n']} | **{chains['avg_len']:.2f}** | {after} |")
    if agg["failures"]:
        out += ["", "Failed episodes by reason: " + ", ".join(f"{k}: {v}" for k, v in agg["failures"].items())]
    if results.get("timing"):
        out += ["", f"Time: {timing_line(results['timing'])}."]
    return "\n".join(out) + "\n"


def html_page(results: dict[str, Any], compare: dict[str, Any] | None = None) -> str:
    figures = _figure_png(results, compare)
    body = [
        f"<h1>{html.escape(results['agent']['name'])} on {html.escape(results['suite']['name'])}</h1>",
        f"<pre>{html.escape(table(results, compare))}</pre>",
    ]
    paired = across_envs(results.get("episodes", []))
    if paired:
        body.append(f"<h2>Paired across environments</h2>{html_table(paired)}")
    for title, data in figures:
        body.append(f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>")
    style = (
        "body{font-family:sans-serif;max-width:900px;margin:auto}pre{background:#f4f4f4;padding:8px}"
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "td:first-child{text-align:left}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>gr-bench report</title><style>{style}</style>"
        f"</head><body>{''.join(body)}</body></html>"
    )


WATCH_HINT = "plays it again and writes its video (without --episode, the run's first failed one)."


def write_reports(results: dict[str, Any], out: Path, compare: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """report.md and report.html under ``out``; ``compare`` (say, the seen run of the same agent)
    adds a second column and, for an unseen run, the per-axis gap plot."""
    out.mkdir(parents=True, exist_ok=True)
    md, page = out / "report.md", out / "report.html"
    command = watch_command(results, out)
    md.write_text(markdown(results) + (f"\nWatch an episode: `{command}` {WATCH_HINT}\n" if command else ""), "utf-8")
    text = html_page(results, compare)
    if command:
        hint = f"<p>Watch an episode: <code>{html.escape(command)}</code> {html.escape(WATCH_HINT)}</p>"
        text = text.replace("</body>", f"{hint}</body>")
    page.write_text(text, encoding="utf-8")
    return md, page


def watch_command(results: dict[str, Any], out: Path) -> str | None:
    """The ``gr-bench watch`` command that films one of the run's episodes, where one failed."""
    if all(e.get("success") for e in results.get("episodes", [])):
        return None
    return f"gr-bench watch {out} --episode EPISODE"


def write_latency_curve(runs: list[tuple[int, dict[str, Any]]], out: Path) -> list[Path]:
    """Success against latency (``gr-bench eval --latency-steps 0,2,4,8``): a table
    (``latency.md``, ``latency.csv``) and a picture (``latency.png``) of the runs' overall and
    per-environment success, with 95% Wilson intervals."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = []
    for latency, results in sorted(runs, key=lambda run: run[0]):
        groups = {"all": results["aggregates"]["overall"]}
        groups |= {env: stats["overall"] for env, stats in results["aggregates"].get("per_env", {}).items()}
        for where, stats in groups.items():
            low, high = stats["ci95"]
            rows.append(
                {
                    "latency_steps": latency,
                    "episodes": where,
                    "n": stats["n"],
                    "successes": stats["successes"],
                    "rate": round(stats["rate"], 4),
                    "ci_low": round(low, 4),
                    "ci_high": round(high, 4),
                }
            )
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "latency.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    agent = runs[0][1]["agent"]["name"]
    suite = runs[0][1]["suite"]
    lines = [
        f"# {agent} on {suite['name']} v{suite['version']}: success against latency",
        "",
        "Each action is applied K control steps after the observation it answers; meanwhile the robot executes "
        "the actions sent before (and stays still at first).",
        "",
        "| K (control steps) | episodes | success | 95% interval | n |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['latency_steps']} | {r['episodes']} | {r['rate']:.1%} | "
        f"[{r['ci_low']:.0%}, {r['ci_high']:.0%}] | {r['n']} |"
        for r in rows
    ]
    (out / "latency.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for where in dict.fromkeys(r["episodes"] for r in rows):
        sel = [r for r in rows if r["episodes"] == where]
        ax.errorbar(
            [r["latency_steps"] for r in sel],
            [r["rate"] for r in sel],
            yerr=[[r["rate"] - r["ci_low"] for r in sel], [r["ci_high"] - r["rate"] for r in sel]],
            marker="o",
            capsize=3,
            label=f"{where} (n={sel[0]['n']})",
        )
    ax.set_xlabel("latency (control steps between observation and action)")
    ax.set_ylabel("success (95% Wilson interval)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{agent} on {suite['name']} v{suite['version']}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=120)
    plt.close(fig)
    return [out / "latency.md", out / "latency.csv", out / "latency.png"]
