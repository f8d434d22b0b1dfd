"""A readout (:func:`~.readout.read_out`) as a terminal table and as one self-contained HTML
page with its plots inline (SVG): lift over time inside its confidence sequence, CTR per
arm, and a forest plot of the per-segment lifts. Every name in it comes from the data and
is escaped."""

from __future__ import annotations

import html
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Readout = dict[str, Any]
LABELS = {"ctr": "CTR", "cvr": "CVR", "value_per_impression": "value/impr."}


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1%}" if signed else f"{value:.2%}"


def _p(value: float | None) -> str:
    """A p-value as read: tiny ones as a bound, not as 0 or 1e-300.

    >>> _p(0.0), _p(3.2e-9), _p(0.0123), _p(None)
    ('< 1e-6', '< 1e-6', '0.012', 'n/a')
    """
    if value is None:
        return "n/a"
    return "< 1e-6" if value < 1e-6 else f"{value:.2g}"


def _equals(p_value: float | None) -> str:
    """``= 0.012`` or ``< 1e-6``: a p-value after its "p"."""
    shown = _p(p_value)
    return shown if shown.startswith("<") else f"= {shown}"


def _interval(low: float | None, high: float | None, signed: bool = False) -> str:
    return f"[{_pct(low, signed)}, {_pct(high, signed)}]"


def verdict(readout: Readout) -> list[str]:
    """One line per treated arm: does it beat the control on CTR, by the always-valid test?"""
    if readout["srm"]["flagged"]:
        return [
            f"SAMPLE RATIO MISMATCH (p {_equals(readout['srm']['p_value'])}): users per arm "
            f"{readout['srm']['users']} do not match the shares; do not trust these lifts"
        ]
    lines = []
    for lift in readout["lifts"]:
        if lift["metric"] != "ctr":
            continue
        interval = _interval(lift["low"], lift["high"], signed=True)
        if lift["significant"]:
            word = "beats" if lift["low"] > 0 else "loses to"
        else:
            word = "is not yet distinguishable from"
        lines.append(
            f"{lift['arm']} {word} {readout['control']}: CTR lift {_pct(lift['lift'], True)} "
            f"{interval} (always valid, α = {readout['alpha']})"
        )
    return lines


def table(readout: Readout) -> str:
    """The per-arm table, the lifts and the verdict, for a terminal."""
    lines = [
        f"experiment {readout['experiment']}: control {readout['control']}, "
        f"SRM p {_equals(readout['srm']['p_value'])}",
        f"{'arm':<12}{'users':>8}{'impr.':>9}{'clicks':>8}  {'CTR [95%]':<26}"
        f"{'conv.':>6}  {'CVR [95%]':<26}{'value/impr.':>12}",
    ]
    for arm in readout["arms"]:
        vpi = arm["value_per_impression"]
        lines.append(
            f"{arm['arm'][:11]:<12}{arm['users']:>8}{arm['impressions']:>9.0f}{arm['clicks']:>8.0f}"
            f"  {_pct(arm['ctr']):>7} {_interval(arm['ctr_low'], arm['ctr_high']):<18}"
            f"{arm['conversions']:>6.0f}  {_pct(arm['cvr']):>7} "
            f"{_interval(arm['cvr_low'], arm['cvr_high']):<18}"
            f"{'n/a' if vpi is None else f'{vpi:.3f}':>12}"
        )
    lines.append(f"{'lift over ' + readout['control'][:14]:<24}{'lift':>8}  always-valid interval")
    for lift in readout["lifts"]:
        label = f"{lift['arm'][:11]} {LABELS[lift['metric']]}"
        lines.append(
            f"{label:<24}{_pct(lift['lift'], True):>8}  "
            f"{_interval(lift['low'], lift['high'], signed=True)}"
        )
    return "\n".join([*lines, *verdict(readout)])


def page(readout: Readout) -> str:
    """The report as one HTML page, plots inline."""
    name = html.escape(readout["experiment"])
    sections = [
        f"<h1>Experiment {name}</h1>",
        "".join(f"<p class=verdict>{html.escape(line)}</p>" for line in verdict(readout)),
        "<h2>Arms</h2>",
        _html_table(
            readout["arms"],
            [
                "arm",
                "users",
                "impressions",
                "clicks",
                "ctr",
                "ctr_low",
                "ctr_high",
                "conversions",
                "cvr",
                "value_per_impression",
            ],
        ),
        "<h2>Lift over the control (always valid)</h2>",
        _html_table(readout["lifts"], ["arm", "metric", *LIFTS, "p_value"], signed=True),
        _svg(_over_time, readout),
        _svg(_ctr_per_arm, readout),
        "<h2>Lift per segment (Bonferroni: each at α / comparisons)</h2>",
        _html_table(readout["segments"], ["segment", "arm", *LIFTS, "p_adjusted"], signed=True),
        _svg(_forest, readout),
        "<h2>CTR per copy variant</h2>",
        _html_table(
            readout["variants"][:40],
            ["slot", "variant", "users", "impressions", "clicks", "ctr", "low", "high"],
        ),
        "<h2>CTR per element</h2>",
        _html_table(
            readout["elements"][:40],
            ["slot", "element", "users", "impressions", "clicks", "ctr", "low", "high"],
        ),
        f"<h2>Sample ratio</h2><p>{html.escape(_srm_line(readout['srm']))}</p>",
    ]
    style = (
        "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{padding:2px 8px;text-align:right;"
        "border-bottom:1px solid #ddd}.verdict{font-size:1.2em;font-weight:bold}"
    )
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>Experiment {name}</title>"
        f"<style>{style}</style></head><body>{''.join(sections)}</body></html>"
    )


def _srm_line(srm: dict[str, Any]) -> str:
    users = ", ".join(f"{arm} {count:,}" for arm, count in srm["users"].items())
    shares = ", ".join(f"{arm} {share:g}" for arm, share in srm["shares"].items())
    flagged = "MISMATCH: do not trust the lifts" if srm["flagged"] else "no mismatch"
    return (
        f"users {users} against shares {shares}: χ² p {_equals(srm['p_value'])}, "
        f"{flagged} (α 0.001)"
    )


def _html_table(rows: list[dict[str, Any]], columns: list[str], signed: bool = False) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(_cell(c, row.get(c), signed))}</td>" for c in columns)
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


PERCENT = {"ctr", "ctr_low", "ctr_high", "cvr", "lift", "low", "high"}
LIFTS = ["lift", "low", "high"]  # signed where the table is of lifts
COUNT = {"users", "impressions", "clicks", "conversions"}
PVALUE = {"p_value", "p_adjusted"}


def _cell(column: str, value: object, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and column in PERCENT:
        return f"{value:+.1%}" if signed and column in LIFTS else f"{value:.2%}"
    if isinstance(value, float) and column in PVALUE:
        return _p(value)
    if isinstance(value, float) and column in COUNT:
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _svg(draw: Any, readout: Readout) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig: Figure
    fig, axes = plt.subplots(figsize=(9, 3.6))
    draw(axes, readout)
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg")
    plt.close(fig)
    svg = out.getvalue()
    return svg[svg.index("<svg") :]


def _over_time(axes: Axes, readout: Readout) -> None:
    start = min((row["ts_ms"] for row in readout["over_time"]), default=0)
    for arm in sorted({row["arm"] for row in readout["over_time"]}):
        rows = [r for r in readout["over_time"] if r["arm"] == arm and r["lift"] is not None]
        minutes = [(r["ts_ms"] - start) / 60_000 for r in rows]
        axes.plot(minutes, [r["lift"] for r in rows], marker="o", label=arm)
        lows = [r["low"] if r["low"] is not None else float("nan") for r in rows]
        highs = [r["high"] if r["high"] is not None else float("nan") for r in rows]
        axes.fill_between(minutes, lows, highs, alpha=0.2)
    axes.axhline(0, color="grey", linestyle="--")
    final = [abs(r[k]) for r in readout["over_time"][-4:] for k in ("low", "high") if r[k]]
    reach = max([0.25, *final]) * 2  # the first looks' intervals are wide: keep the end legible
    axes.set_ylim(-reach, reach)
    axes.set(
        title=f"CTR lift over {readout['control']}, inside its confidence sequence",
        xlabel="minutes since the first impression",
        ylabel="relative lift",
    )
    axes.legend()


def _ctr_per_arm(axes: Axes, readout: Readout) -> None:
    arms = [a for a in readout["arms"] if a["ctr"] is not None]
    values = [a["ctr"] for a in arms]
    errors = [[a["ctr"] - a["ctr_low"] for a in arms], [a["ctr_high"] - a["ctr"] for a in arms]]
    axes.bar([a["arm"] for a in arms], values, yerr=errors, capsize=6, color="#4a7bb7")
    axes.set(title="CTR per arm (95 % interval, users as the unit)", ylabel="CTR")


def _forest(axes: Axes, readout: Readout) -> None:
    rows = [r for r in readout["segments"] if r["lift"] is not None]
    labels = [f"{r['segment']} · {r['arm']}" for r in rows]
    for y, row in enumerate(rows):
        low = row["low"] if row["low"] is not None else row["lift"]
        high = row["high"] if row["high"] is not None else row["lift"]
        axes.plot([low, high], [y, y], color="#4a7bb7")
        axes.plot(row["lift"], y, "o", color="#c0392b" if row["significant"] else "#4a7bb7")
    axes.axvline(0, color="grey", linestyle="--")
    axes.set_yticks(range(len(rows)), labels)
    axes.set(
        title="CTR lift per segment (intervals at α / comparisons; red: zero left out)",
        xlabel="relative lift",
    )
