"""The Markdown report of a suite run, and the issue's targets judged against its figures.

Everything here reads the results dict :mod:`bench.suite` writes as ``results.json``;
nothing is measured. Each target uses the largest size the run measured and says which.
"""
from bench.reference import TARGET_GAP

PLOTS = [("end_to_end.png", "wall time end to end"),
         ("convergence.png", "objective gap after each pass"),
         ("pass_cost.png", "cost of one pass, and where a one-row pass spends its time"),
         ("scaling.png", "seconds per pass against rows, 1 and 2 mappers")]
MET = {True: "met", False: "**not met**", None: "not measured"}


def rows_label(rows):
    """100000 -> '100k', 4000000 -> '4M'."""
    if rows >= 1_000_000 and rows % 1_000_000 == 0:
        return "%dM" % (rows // 1_000_000)
    if rows >= 1000 and rows % 1000 == 0:
        return "%dk" % (rows // 1000)
    return str(rows)


def pick(records, **fields):
    """The first record whose ``fields`` have the given values, or None."""
    return next((r for r in records if all(r.get(k) == v for k, v in fields.items())), None)


def largest(records):
    """The largest ``rows`` among ``records`` (None when there are none)."""
    return max((r["rows"] for r in records), default=None)


LOCAL_CSV = ("csv", 2)
LOCAL_PACKED = ("packed", 2)
SINGLE_PROCESS = ("single process", 1)
"""The passes :mod:`bench.suite` measures at each size, as (input, processes)."""


def pass_seconds(results, rows, measured):
    """Seconds of the ``measured`` pass ((input, mappers)) over ``rows`` rows, or None
    when the run did not measure it."""
    input_kind, mappers = measured
    record = pick(results["pass_cost"], rows=rows, input=input_kind, mappers=mappers)
    return record and record["seconds"]


# --- the targets -------------------------------------------------------------------------

def end_to_end_target(other, limit):
    """mrlearn's fastest run at gap <= TARGET_GAP vs ``other``'s end-to-end time."""
    def judge(results):
        records = results["end_to_end"]
        rows = largest(records)
        rival = pick(records, rows=rows, contender=other)
        ours = [r for r in records if r["rows"] == rows and r["contender"].startswith("mrlearn")
                and r["gap"] <= TARGET_GAP]
        if rival is None:
            return "%s not run" % other, None
        if not ours:
            return "no mrlearn run reached gap %g (%s rows)" % (TARGET_GAP, rows_label(rows)), False
        best = min(ours, key=lambda r: r["seconds"])
        ratio = best["seconds"] / rival["seconds"]
        return ("%.2f× (%s %.1f s vs %.1f s, %s rows)" % (
            ratio, best["contender"], best["seconds"], rival["seconds"], rows_label(rows)),
            ratio <= limit)
    return judge


def solver_passes_target(solver, limit):
    """``solver`` ends within ``limit`` passes at gap <= TARGET_GAP."""
    def judge(results):
        records = [r for r in results["convergence"] if r["solver"] == solver]
        if not records:
            return "%s not run" % solver, None
        record = pick(records, rows=largest(records))
        return ("%d passes, gap %.1e (%s rows)" % (record["passes"], record["final_gap"],
                                                  rows_label(record["rows"])),
                record["passes"] <= limit and record["final_gap"] <= TARGET_GAP)
    return judge


def kmeans_target(results):
    records = results["kmeans"]
    if not records:
        return "k-means not run", None
    record = pick(records, rows=largest(records))
    return ("%.6f×, %d passes (%s rows)" % (record["inertia_ratio"], record["passes"],
                                            rows_label(record["rows"])),
            record["inertia_ratio"] <= 1.001 and record["passes"] <= 14)


def pass_ratio_target(numerator, denominator, limit):
    """Seconds of the ``numerator`` pass over those of the ``denominator`` pass <= limit
    (both (input, mappers)), at the largest size where both were measured."""
    def judge(results):
        rows = largest([r for r in results["pass_cost"] if r["input"] == SINGLE_PROCESS[0]])
        top, bottom = (pass_seconds(results, rows, kind) for kind in (numerator, denominator))
        if top is None or bottom is None:
            return "not measured", None
        return ("%.2f× (%.2f s vs %.2f s, %s rows)" % (top / bottom, top, bottom,
                                                      rows_label(rows)),
                top / bottom <= limit)
    return judge


def fixed_cost_target(results):
    record = pick(results["fixed_cost"]["runs"], runner="local")
    return "%.2f s" % record["seconds"], record["seconds"] <= 1.5


def growth_target(results):
    """Per-pass time of the two largest scaling sizes grows at most 1.1× as fast as rows."""
    sizes = sorted(results["settings"]["scaling"])
    if len(sizes) < 2:
        return "needs two scaling sizes", None
    small, big = sizes[-2:]
    ratio = pass_seconds(results, big, LOCAL_CSV) / pass_seconds(results, small, LOCAL_CSV)
    return ("%s/%s: %.2f× for %.0f× the rows" % (rows_label(big), rows_label(small), ratio,
                                                 big / small),
            ratio <= 1.1 * big / small)


def mappers_target(results):
    rows = max(results["settings"]["scaling"])
    speedup = (pass_seconds(results, rows, ("csv", 1))
               / pass_seconds(results, rows, ("csv", 2)))
    return "%.2f× (%s rows)" % (speedup, rows_label(rows)), speedup >= 1.7


TARGETS = [
    ("logistic end to end ≤ 0.25× Spark MLlib, at gap ≤ 1e-6",
     end_to_end_target("Spark MLlib", 0.25)),
    ("logistic end to end ≤ 2× scikit-learn, at gap ≤ 1e-6",
     end_to_end_target("scikit-learn", 2.0)),
    ("newton ≤ 10 passes (to gap ≤ 1e-6)", solver_passes_target("newton", 10)),
    ("lbfgs ≤ 40 passes (to gap ≤ 1e-6)", solver_passes_target("lbfgs", 40)),
    ("k-means inertia ≤ 1.001× scikit-learn, ≤ 14 passes", kmeans_target),
    ("local-runner CSV pass ≤ 1.5× the single-process limit",
     pass_ratio_target(LOCAL_CSV, SINGLE_PROCESS, 1.5)),
    ("packed pass ≤ 1/5 of a CSV pass", pass_ratio_target(LOCAL_PACKED, LOCAL_CSV, 0.2)),
    ("fixed cost of a local-runner pass ≤ 1.5 s", fixed_cost_target),
    ("per-pass time linear in rows (4M/1M ≤ 4.4×)", growth_target),
    ("2 mappers ≥ 1.7× faster than 1", mappers_target),
]


def judge_targets(results):
    """A list of ``{"target", "measured", "met"}`` (met: True, False or None)."""
    judged = []
    for target, judge in TARGETS:
        measured, met = judge(results)
        judged.append({"target": target, "measured": measured, "met": met})
    return judged


# --- the Markdown ------------------------------------------------------------------------

def table(header, rows):
    """A Markdown table: ``header`` (list of column titles; a title ending in ':' is
    right-aligned, the colon dropped) and ``rows`` (lists of cells)."""
    titles = [h.rstrip(":") for h in header]
    rules = ["---:" if h.endswith(":") else "---" for h in header]
    lines = ["| " + " | ".join(titles) + " |", "|" + "|".join(rules) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def targets_table(results):
    return table(["target", "measured", "result"],
                 [[t["target"], t["measured"], MET[t["met"]]] for t in results["targets"]])


def gap_label(gap):
    return "%.1e" % gap


def convergence_table(results):
    rows = [[rows_label(r["rows"]), r["solver"],
             r["passes_to_target"] or "not reached", "%d (of %d)" % (r["passes"], r["budget"]),
             gap_label(r["final_gap"]), r["stop_reason"], "%.1f" % r["seconds"]]
            for r in results["convergence"]]
    return table(["rows", "solver", "passes to gap ≤ 1e-6:", "passes run:", "final gap:",
                  "stopped because", "seconds (inline):"], rows)


def kmeans_table(results):
    rows = [[rows_label(r["rows"]), r["passes"], r["init_passes"], "%.6f" % r["inertia_ratio"],
             r["sklearn_iterations"], "%.1f" % r["seconds"], "%.1f" % r["sklearn_seconds"]]
            for r in results["kmeans"]]
    return table(["rows", "passes:", "init passes:", "inertia / scikit-learn:",
                  "scikit-learn iterations:", "seconds (inline):",
                  "scikit-learn seconds:"], rows)


def ratio_to(results, record, contender):
    rival = pick(results["end_to_end"], rows=record["rows"], contender=contender)
    return "%.2f" % (record["seconds"] / rival["seconds"]) if rival else "–"


def end_to_end_table(results):
    rows = [[rows_label(r["rows"]), r["contender"], "%.1f" % r["seconds"],
             ratio_to(results, r, "scikit-learn"), ratio_to(results, r, "Spark MLlib"),
             r["iterations"], gap_label(r["gap"]),
             ", ".join("%s %.1f s" % item for item in r["parts"].items())]
            for r in results["end_to_end"]]
    return table(["rows", "contender", "seconds:", "× scikit-learn:", "× Spark:",
                  "passes / iterations:", "objective gap:", "of which"], rows)


def pass_cost_table(results):
    rows = []
    for rows_count in sorted({r["rows"] for r in results["pass_cost"]
                              if r["input"] == SINGLE_PROCESS[0]}):
        csv, single, packed = (pass_seconds(results, rows_count, measured)
                               for measured in (LOCAL_CSV, SINGLE_PROCESS, LOCAL_PACKED))
        rows.append([rows_label(rows_count), "%.2f" % csv, "%.2f" % single,
                     "%.2f" % (csv / single), "%.2f" % packed, "%.2f" % (packed / csv)])
    return table(["rows", "local, CSV (s):", "single process (s):", "CSV / single:",
                  "local, packed (s):", "packed / CSV:"], rows)


def scaling_table(results):
    rows, previous = [], None
    for rows_count in sorted(results["settings"]["scaling"]):
        one, two = (pass_seconds(results, rows_count, ("csv", m)) for m in (1, 2))
        growth = ("%.2f× for %.0f× rows" % (two / previous[1], rows_count / previous[0])
                  if previous else "")
        rows.append([rows_label(rows_count), "%.2f" % one, "%.2f" % two, "%.2f" % (one / two),
                     growth])
        previous = rows_count, two
    return table(["rows", "1 mapper (s):", "2 mappers (s):", "speed-up:",
                  "growth (2 mappers)"], rows)


def fixed_cost_table(results):
    runs = results["fixed_cost"]["runs"]
    phases = list(runs[0]["phases"])
    rows = [[phase] + ["%.3f" % run["phases"][phase] for run in runs] for phase in phases]
    rows.append(["**whole pass**"] + ["**%.3f**" % run["seconds"] for run in runs])
    return table(["step of one pass"] + ["%s runner (s):" % run["runner"] for run in runs], rows)


def header(results):
    machine, settings = results["machine"], results["settings"]
    versions = ", ".join("%s %s" % item for item in machine["versions"].items())
    return "\n\n".join([
        "# mrlearn benchmarks",
        "`%s` — %s, %.0f s in all." % (results["command"], results["started"],
                                       results["seconds"]),
        "Machine: %d cores, %.0f GiB, Python %s, %s; %s." % (
            machine["cores"], machine["memory_gib"], machine["python"], machine["java"],
            versions),
        "Data: logistic `make_classification(N, 20 features, 10 informative, 5 redundant, "
        "flip_y=0.05, random_state=7)`, λ = %g, gap = relative distance of the objective to "
        "scikit-learn's optimum (tol 1e-10); k-means `make_blobs(N, 10 features, 8 centers, "
        "cluster_std=1.5, random_state=7)`. %s." % (settings["l2"], results["spark"])])


def end_to_end_section(results):
    return "\n\n".join([
        "## End to end (train from the CSV file)",
        "mrlearn: `mrlearn train -r local --algo logistic` (Newton), packed includes its "
        "`mrlearn prepare -r local`; scikit-learn: pandas `read_csv` + `LogisticRegression` "
        "defaults; Spark MLlib: local[2], session start + read + fit "
        "(`standardization=False`, tol %g)." % results["settings"]["spark_tol"],
        end_to_end_table(results)])


def convergence_section(results):
    return "\n\n".join([
        "## Passes to the optimum",
        "Each solver with its defaults (`--tol 1e-8`) and at most the passes shown, inline "
        "runner on the packed data.",
        convergence_table(results),
        "k-means, k = 8, `k-means||`, one restart; scikit-learn `KMeans(8, n_init=10)`; "
        "inertia of both computed on the same rows:",
        kmeans_table(results)])


def pass_cost_section(results):
    return "\n\n".join([
        "## Cost of one pass",
        "A Newton pass (loss and gradient at 4 trial steps, the Hessian at one) on the local "
        "runner, 2 mappers, vs the single-process limit: pandas `read_csv` + the same numpy "
        "kernel.",
        pass_cost_table(results),
        "## Scaling (local runner, CSV)",
        scaling_table(results)])


def fixed_cost_section(results):
    fixed = results["fixed_cost"]
    return "\n\n".join([
        "## Fixed cost of a pass over one row",
        "Mean of %d passes after a warm-up pass. A local-runner task is a fresh Python: "
        "starting one that imports numpy and mrjob takes %.2f s here, and a pass runs the "
        "map tasks, then the reduce task. %s" % (results["settings"]["repeats"],
                                                  fixed["task_interpreter_seconds"],
                                                  fixed["hadoop"]),
        fixed_cost_table(results)])


def markdown(results):
    """The whole report (str): header, targets, each section's tables, the plots."""
    return "\n\n".join([
        header(results), "## Targets", targets_table(results), end_to_end_section(results),
        convergence_section(results), pass_cost_section(results), fixed_cost_section(results),
        "\n".join("![%s](%s)" % (title, name) for name, title in PLOTS)]) + "\n"
