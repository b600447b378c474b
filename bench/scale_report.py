"""The scale case's plot (docs/benchmarks/scale.png) and markdown tables, from bench/out/scale/results.json."""

from collections.abc import Callable
from pathlib import Path

from scale import REPO, Point, Results, Side

PLOT = REPO / "docs" / "benchmarks" / "scale.png"
#: Panel title, y-axis label, and the value plotted for one side at one N.
PANELS: list[tuple[str, str, Callable[[Side], float]]] = [
    ("load the code location", "seconds", lambda side: side.load.seconds),
    ("full run", "seconds", lambda side: side.run.seconds),
    ("no-change run", "seconds", lambda side: side.nochange.seconds),
    ("sensor tick, nothing new", "seconds", lambda side: side.tick.seconds),
    ("sensor tick, one new file", "seconds", lambda side: side.arrival_tick),
    ("webserver: location loaded", "seconds", lambda side: side.webserver.seconds),
    ("UI asset-graph query", "seconds", lambda side: side.graph_seconds),
    ("peak memory: load", "MB", lambda side: side.load.peak_mb),
    ("peak memory: full run", "MB", lambda side: side.run.peak_mb),
    ("peak memory: webserver + code server", "MB", lambda side: side.webserver.peak_mb),
]


def plot(results: Results, path: Path = PLOT) -> Path:
    """N against each measure, JobForge (solid) against the floor (dashed): seconds on log-log axes with a linear
    guide, memory on linear axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [results.points[n] for n in sorted(results.points)]
    sizes = [point.tables for point in points]
    figure, axes = plt.subplots(2, 5, figsize=(22, 8.5))
    for axis, (title, unit, value) in zip(axes.flat, PANELS, strict=True):
        ours, floor = [value(point.ours) for point in points], [value(point.floor) for point in points]
        axis.plot(sizes, ours, "o-", color="tab:blue", label="JobForge")
        axis.plot(sizes, floor, "s--", color="tab:gray", label="Dagster floor (no work)")
        if unit == "seconds":  # log-log: a straight line of slope 1 is linear growth
            axis.plot(sizes, [ours[0] * n / sizes[0] for n in sizes], ":", color="tab:red", label="linear from N=32")
            axis.set(xscale="log", yscale="log")
            axis.set_xticks(sizes, [str(n) for n in sizes])
        else:  # memory is a base plus a part per table: linear axes show whether that part grows linearly
            axis.set_ylim(bottom=0)
        axis.set(title=title, xlabel="tables (N)", ylabel=unit)
        axis.grid(True, which="both", alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    figure.suptitle(f"JobForge at N tables against Dagster's floor (measured {points[-1].measured}, 2 cores)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def pair(ours: float, floor: float, digits: int = 2) -> str:
    return f"{ours:.{digits}f} / {floor:.{digits}f}"


def time_row(point: Point, base: Point) -> str:
    ours, floor = point.ours, point.floor
    per_table = ours.run.seconds / point.tables / (base.ours.run.seconds / base.tables)
    nochange = ours.nochange.seconds / floor.nochange.seconds
    again = pair(ours.graph_again_seconds, floor.graph_again_seconds)
    return (
        f"| {point.tables:,} | {point.declared:,} | {pair(ours.load.seconds, floor.load.seconds)} "
        f"| {pair(ours.run.seconds, floor.run.seconds)} | {per_table:.2f} "
        f"| {pair(ours.nochange.seconds, floor.nochange.seconds)} ({nochange:.2f}) "
        f"| {pair(ours.tick.seconds * 1000, floor.tick.seconds * 1000, 1)} "
        f"| {pair(ours.arrival_tick * 1000, floor.arrival_tick * 1000, 1)} "
        f"| {pair(ours.webserver.seconds, floor.webserver.seconds)} "
        f"| {pair(ours.graph_seconds, floor.graph_seconds)} ({again}) "
        f"| {ours.asset_nodes:,} / {floor.asset_nodes:,} |"
    )


def memory_row(point: Point) -> str:
    ours, floor = point.ours, point.floor
    measures = [
        (side.load.peak_mb, side.run.peak_mb, side.nochange.peak_mb, side.tick.peak_mb, side.webserver.peak_mb)
        for side in (ours, floor)
    ]
    cells = " | ".join(pair(mine, theirs, 0) for mine, theirs in zip(*measures, strict=True))
    return f"| {point.tables:,} | {cells} |"


def tables(results: Results) -> list[str]:
    """Two markdown tables (seconds, then peak MB), JobForge / floor in each cell."""
    points = [results.points[n] for n in sorted(results.points)]
    base = points[0]
    return [
        "Seconds, JobForge / Dagster's floor (`bench/floor.py` with N tables). Run per table: JobForge's full run "
        f"per table against its own at N = {base.tables}. No-change: ratio to the floor's run in brackets. Graph "
        "query: first, then (again). Ticks in milliseconds (the floor's sensor only lists the folder).",
        "",
        "| N | declared | load | full run | run per table (× N=32) | no-change run | tick ms, nothing new "
        "| tick ms, one new file | webserver loaded | asset-graph query | asset nodes |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *[time_row(point, base) for point in points],
        "",
        "Peak resident MB of each process, JobForge / floor (webserver: webserver and code server together).",
        "",
        "| N | load | full run | no-change run | sensor tick | webserver |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        *[memory_row(point) for point in points],
        "",
    ]
