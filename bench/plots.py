"""The suite's PNG figures (matplotlib, Agg backend), drawn from its results dict."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import ScalarFormatter  # noqa: E402
import numpy as np  # noqa: E402

from bench.reference import TARGET_GAP  # noqa: E402
from bench.report import (LOCAL_CSV, LOCAL_PACKED, SINGLE_PROCESS, pass_seconds,  # noqa: E402
                          rows_label)

SMALLEST_GAP_SHOWN = 1e-16
"""Gaps at or below this (rounding, or slightly negative) are drawn at this value."""


def sizes_of(records):
    return sorted({r["rows"] for r in records})


def panels(count, title, width=6):
    """A figure with ``count`` side-by-side axes (a list), each ``width`` inches wide, and
    a title."""
    figure, axes = plt.subplots(1, count, figsize=(width * count, 4.5), squeeze=False)
    figure.suptitle(title)
    return figure, list(axes[0])


def save(figure, directory, name):
    """Write ``figure`` as ``directory/name``; returns the path."""
    path = os.path.join(directory, name)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def end_to_end_plot(results, directory):
    records = results["end_to_end"]
    figure, axes = panels(len(sizes_of(records)), "Logistic regression, CSV to model: wall time")
    for ax, rows in zip(axes, sizes_of(records)):
        mine = [r for r in records if r["rows"] == rows]
        seconds = [r["seconds"] for r in mine]
        ax.barh([r["contender"] for r in mine], seconds, color="tab:blue")
        for y, r in enumerate(mine):
            ax.text(r["seconds"], y, " %.1f s, gap %.0e" % (r["seconds"], r["gap"]),
                    va="center")
        ax.set_xlim(0, 1.45 * max(seconds))
        ax.invert_yaxis()
        ax.set_xlabel("seconds")
        ax.set_title("%s rows" % rows_label(rows))
    return save(figure, directory, "end_to_end.png")


def convergence_plot(results, directory):
    records = results["convergence"]
    figure, axes = panels(len(sizes_of(records)), "Logistic regression: gap to scikit-learn's "
                                                   "optimum after each pass")
    for ax, rows in zip(axes, sizes_of(records)):
        for r in records:
            if r["rows"] == rows:
                gaps = np.maximum(r["gaps"], SMALLEST_GAP_SHOWN)
                ax.semilogy(np.arange(1, len(gaps) + 1), gaps, marker=".", label=r["solver"])
        ax.axhline(TARGET_GAP, color="gray", linestyle="--", label="gap %g" % TARGET_GAP)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_xlabel("pass")
        ax.set_ylabel("relative objective gap")
        ax.set_title("%s rows" % rows_label(rows))
        ax.legend()
    return save(figure, directory, "convergence.png")


def pass_cost_plot(results, directory):
    figure, (per_pass, fixed) = panels(2, "Cost of one Newton pass", width=7)
    sizes = sizes_of([r for r in results["pass_cost"] if r["input"] == SINGLE_PROCESS[0]])
    kinds = [(LOCAL_CSV, "local runner, CSV"), (SINGLE_PROCESS, "single process (pandas + numpy)"),
             (LOCAL_PACKED, "local runner, packed")]
    width = 0.8 / len(kinds)
    for k, (measured, label) in enumerate(kinds):
        per_pass.bar(np.arange(len(sizes)) + k * width,
                     [pass_seconds(results, rows, measured) for rows in sizes], width,
                     label=label)
    per_pass.set_xticks(np.arange(len(sizes)) + width, [rows_label(r) for r in sizes])
    per_pass.set_xlabel("rows")
    per_pass.set_ylabel("seconds per pass")
    per_pass.set_title("one pass over the data")
    per_pass.legend()
    runs = results["fixed_cost"]["runs"]
    phases = list(runs[0]["phases"])
    colors = plt.get_cmap("tab20").colors
    left = np.zeros(len(runs))
    for phase, color in zip(phases, colors):
        seconds = np.array([run["phases"][phase] for run in runs])
        fixed.barh([run["runner"] for run in runs], seconds, left=left, label=phase, color=color)
        left += seconds
    fixed.set_xlabel("seconds (pass over one row)")
    fixed.set_title("fixed cost: where a one-row pass spends its time")
    fixed.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return save(figure, directory, "pass_cost.png")


def scaling_plot(results, directory):
    figure, (ax,) = panels(1, "Seconds per pass, local runner, CSV")
    sizes = sorted(results["settings"]["scaling"])
    for mappers in (1, 2):
        ax.loglog(sizes, [pass_seconds(results, rows, ("csv", mappers)) for rows in sizes],
                  marker="o", label="%d mapper%s" % (mappers, "s" * (mappers > 1)))
    first = pass_seconds(results, sizes[0], LOCAL_CSV)
    ax.loglog(sizes, [first * rows / sizes[0] for rows in sizes], color="gray", linestyle="--",
              label="linear in rows (from the smallest, 2 mappers)")
    ax.set_xlabel("rows")
    ax.set_ylabel("seconds per pass")
    ax.legend()
    return save(figure, directory, "scaling.png")


def draw_all(results, directory):
    """Every figure of :data:`bench.report.PLOTS`, written into ``directory``; their paths."""
    return [plot(results, directory) for plot in (end_to_end_plot, convergence_plot,
                                                 pass_cost_plot, scaling_plot)]
