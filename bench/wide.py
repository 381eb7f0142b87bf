"""Wide sparse data: rcv1-like rows, mrlearn's wide solvers against scipy and VW.

    python -m bench.wide                      # about 20 minutes: the README's wide table
    python -m bench.wide --rows 20000 --bits 12 --scale-rows 0     # a minute

The data: each row has ``nnz`` distinct features drawn from ``2^bits`` with Zipf(1.1)
frequencies, values uniform in [0, 1), the row scaled to unit norm; labels drawn from a
logistic model whose true weights are non-zero (normal, times 8) on 5 % of the features,
intercept 0. A fifth more rows than ``--rows`` are drawn: the last fifth is the held-out
part.

What it measures (``bench/results/wide.json`` and a Markdown report on stdout):

- **passes**: for each ``--l2`` and solver (GIANT, L-BFGS), on the local runner with
  ``--mappers``, the passes and seconds to a 1e-3 / 1e-4 / 1e-6 relative gap to the exact
  optimum (scipy L-BFGS-B to the rounding floor), and scipy L-BFGS's function evaluations
  to the same gaps (one pass each, were it distributed); the same on a few rows per split
  (``--few-rows`` rows over 4 mappers, where GIANT falls back to L-BFGS);
- **held out**: the log-loss of mrlearn's models and of Vowpal Wabbit (1 and 10 passes,
  logistic loss, 2^bits weights) on the held-out part, with their seconds;
- **one pass at scale** (``--scale-rows`` x 2^``--scale-bits``): seconds of an L-BFGS pass
  on packed rows (parse once) with 2 mappers, less the runner's fixed cost (a pass over
  two rows), against scipy's gradient on the same rows in memory and with
  ``load_svmlight_file``; the bytes one split's record takes on the wire and the peak
  memory of a mapper and of a reducer for each ``--reducers``; the models of
  R = 1 / R = max and of 1 / 4 mappers (3 passes), which must be equal.
"""
import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from jobs.params import params_json

ZIPF_EXPONENT = 1.1
TRUE_DENSITY = 0.05
TRUE_SCALE = 8.0


def rcv1_like(n_rows, bits, nnz=40, seed=0):
    """``(X, y)``: X a scipy CSR matrix (n_rows, 2^bits) with ``nnz`` entries a row, y in
    {0, 1} (n_rows,)."""
    rng = np.random.default_rng(seed)
    d = 2 ** bits
    p = 1.0 / np.arange(1, d + 1) ** ZIPF_EXPONENT
    cdf = np.cumsum(p / p.sum())
    feature_of_rank = rng.permutation(d)
    cols = np.empty((n_rows, nnz), dtype=np.int64)
    todo = np.arange(n_rows)
    while len(todo):  # draw twice the row's count, keep the first nnz distinct ones
        draws = np.searchsorted(cdf, rng.random((len(todo), 2 * nnz)), side="right")
        draws = np.minimum(draws, d - 1)
        ok = np.zeros(len(todo), dtype=bool)
        for i, row in enumerate(draws):
            _, first = np.unique(row, return_index=True)
            if len(first) >= nnz:
                cols[todo[i]] = row[np.sort(first)[:nnz]]
                ok[i] = True
        todo = todo[~ok]
    cols = feature_of_rank[cols]
    vals = rng.random((n_rows, nnz))
    vals /= np.linalg.norm(vals, axis=1, keepdims=True)
    X = sp.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, n_rows * nnz + 1, nnz)),
                      shape=(n_rows, d))
    X.sort_indices()
    w_true = np.zeros(d)
    chosen = rng.choice(d, size=max(1, int(TRUE_DENSITY * d)), replace=False)
    w_true[chosen] = TRUE_SCALE * rng.standard_normal(len(chosen))
    y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-(X @ w_true)))).astype(np.float64)
    return X, y


def write_libsvm(path, X, y):
    """Write CSR ``X`` and labels ``y`` as libsvm text (1-based indices), ``%.17g`` values."""
    X = sp.csr_matrix(X)
    with open(path, "w") as out:
        for i in range(X.shape[0]):
            lo, hi = X.indptr[i], X.indptr[i + 1]
            out.write("%d %s\n" % (y[i], " ".join(
                "%d:%.17g" % (j + 1, v) for j, v in zip(X.indices[lo:hi], X.data[lo:hi]))))
    return path


def logistic_objective(theta, X, y, l2):
    """``(F, G)`` of mrlearn's logistic objective: mean log-loss + l2/2 |w|^2 (intercept,
    the last entry of ``theta``, not penalized)."""
    n = X.shape[0]
    w, b = theta[:-1], theta[-1]
    z = X @ w + b
    loss = np.logaddexp(0.0, z) - y * z
    r = np.exp(-np.logaddexp(0.0, -z)) - y
    G = np.append(X.T @ r / n + l2 * w, r.sum() / n)
    return float(loss.sum() / n + 0.5 * l2 * w @ w), G


def logistic_optimum(X, y, l2):
    """The exact optimum ``(F*, theta*)`` (scipy L-BFGS-B to the rounding floor)."""
    fit = minimize(logistic_objective, np.zeros(X.shape[1] + 1), args=(X, y, l2), jac=True,
                   method="L-BFGS-B", options={"maxiter": 20000, "ftol": 1e-16, "gtol": 1e-13,
                                               "maxcor": 30})
    return float(fit.fun), fit.x


GAPS = (1e-3, 1e-4, 1e-6)


class _Reached(Exception):
    """Raised from a training run's report once it is close enough to the optimum."""


def passes_to_gaps(objectives, seconds, best):
    """``{gap: [pass, seconds]}`` (the first pass at a relative gap <= gap; None if none)."""
    out = {}
    for gap in GAPS:
        hit = next((i for i, F in enumerate(objectives) if F - best <= gap * best), None)
        out[str(gap)] = None if hit is None else [hit + 1, round(float(sum(seconds[:hit + 1])), 2)]
    return out


def mrlearn_run(path, d, l2, solver, mappers, best, max_iter, reducers=None):
    """Train on the local runner until a 1e-7 gap (or ``max_iter``); the history's gaps."""
    from driver.passes import Runner
    from driver.train import TrainConfig, train
    history = []

    def report(entry):
        history.append(entry)
        if entry["objective"] - best <= 1e-7 * best:
            raise _Reached

    started = time.time()
    with Runner("local", mappers=mappers, reducers=reducers) as runner:
        config = TrainConfig("logistic", [path], solver=solver, l2=l2, n_features=d,
                             tol=0.0, max_iter=max_iter)
        try:
            model = train(config, runner, report=report)
        except _Reached:
            model = None
    objectives = [e["objective"] for e in history]
    return {"solver": solver, "method": (model or {}).get("solver", solver),
            "passes": len(history), "seconds": round(time.time() - started, 2),
            "final_gap": (objectives[-1] - best) / best,
            "to_gap": passes_to_gaps(objectives, [e["seconds"] for e in history], best)}


def scipy_evaluations(X, y, l2, best):
    """scipy L-BFGS's function evaluations to each gap (one pass each, distributed)."""
    values = []

    def counted(theta):
        F, G = logistic_objective(theta, X, y, l2)
        values.append(F)
        return F, G

    minimize(counted, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B",
             options={"maxiter": 5000, "ftol": 1e-16, "gtol": 1e-12})
    return {str(gap): next((i + 1 for i, F in enumerate(values) if F - best <= gap * best), None)
            for gap in GAPS}


def held_out_log_loss(theta, X, y):
    z = X @ theta[:-1] + theta[-1]
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def write_vw(path, X, y):
    X = sp.csr_matrix(X)
    with open(path, "w") as out:
        for i in range(X.shape[0]):
            lo, hi = X.indptr[i], X.indptr[i + 1]
            out.write("%d |f %s\n" % (2 * y[i] - 1, " ".join(
                "%d:%.17g" % (j, v) for j, v in zip(X.indices[lo:hi], X.data[lo:hi]))))
    return path


def vowpal_wabbit(tmp, X, y, X_test, y_test, bits, passes):
    """VW (logistic loss, 2^bits weights, its defaults otherwise): held-out log-loss, s."""
    from vowpalwabbit import Workspace
    train_path, test_path = (write_vw(os.path.join(tmp, name), A, b) for name, A, b in
                             (("train.vw", X, y), ("test.vw", X_test, y_test)))
    model, predictions = os.path.join(tmp, "vw.model"), os.path.join(tmp, "vw.pred")
    started = time.time()
    vw = Workspace("-d %s --loss_function logistic -b %d --passes %d -c -k --holdout_off "
                   "--quiet -f %s" % (train_path, bits, passes, model))
    vw.run_parser()
    vw.finish()
    seconds = time.time() - started
    vw = Workspace("-i %s -t -d %s -p %s --link logistic --quiet" % (model, test_path,
                                                                     predictions))
    vw.run_parser()
    vw.finish()
    p = np.clip(np.loadtxt(predictions), 1e-15, 1 - 1e-15)
    return {"passes": passes, "seconds": round(seconds, 2),
            "held_out_log_loss": float(-np.mean(y_test * np.log(p) + (1 - y_test) * np.log1p(-p)))}


def split_record_pairs(path, d, mappers, reducers, theta):
    """The (key, value) lines one split's mapper of an L-BFGS line-search pass emits (the
    file's first 1/mappers of the lines), with the mapper's peak traced memory (bytes)."""
    from jobs.objective_pass import MRObjectivePass
    with open(path) as f:
        lines = f.read().splitlines()
    lines = lines[:len(lines) // mappers]
    direction = -np.ones(d + 1) / np.sqrt(d + 1)
    params = {"format": "libsvm", "n_columns": d + 1, "n_features": d, "label_col": 0,
              "header": "no", "loss": "logistic", "order": 1, "shards": reducers,
              "line": {"theta": theta.tolist(), "direction": direction.tolist(),
                       "steps": [1.0, 0.5, 0.25, 0.125]}}
    params_path = _params_file(params)
    job = MRObjectivePass(args=["--params", params_path])
    protocol = job.internal_protocol()
    tracemalloc.start()
    job.mapper_init()
    out = []
    for line in lines:
        out.extend(job.mapper(None, line) or [])
    out.extend(job.mapper_final())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    os.remove(params_path)
    return [protocol.write(k, v) for k, v in out], peak


def _params_file(params):
    handle, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(handle, "w") as f:
        f.write(params_json(params))  # as the driver writes them
    return path


def reducer_peak(wire_lines, splits):
    """Peak traced memory (bytes) of a reducer merging ``splits`` copies of the shard
    records ``wire_lines`` (one shard's lines, as its reducer reads them)."""
    from jobs.objective_pass import MRObjectivePass
    job = MRObjectivePass(args=["--params-inline", "e30="])
    protocol = job.internal_protocol()
    tracemalloc.start()
    for _ in range(splits):
        for line in wire_lines:
            key, value = protocol.read(line)
            list(job.reducer(key, iter([value])))
    list(job.reducer_final())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def one_pass_at_scale(tmp, rows, bits, nnz, l2, reducers_list):
    """Seconds of a pass on packed rows against scipy; wire bytes and peak memory."""
    from driver.passes import Runner
    from driver.train import TrainConfig, train
    from sklearn.datasets import dump_svmlight_file, load_svmlight_file
    d = 2 ** bits
    X, y = rcv1_like(rows, bits, nnz=nnz, seed=1)
    path = os.path.join(tmp, "scale.svm")
    dump_svmlight_file(X, y, path, zero_based=False)
    one_row = os.path.join(tmp, "one.svm")
    both = [int(np.argmin(y)), int(np.argmax(y))]  # a row of each class
    dump_svmlight_file(X[both], y[both], one_row, zero_based=False)
    out = {"rows": rows, "features": d, "nnz_per_row": nnz, "bytes": os.path.getsize(path)}
    started = time.time()
    load_svmlight_file(path, n_features=d)
    out["scipy_load_seconds"] = time.time() - started
    theta = np.zeros(d + 1)
    started = time.time()
    for _ in range(3):
        logistic_objective(theta, X, y, l2)
    out["scipy_gradient_seconds"] = (time.time() - started) / 3
    models = {}
    for mappers, reducers in ((2, 1), (2, max(reducers_list)), (1, 1), (4, 1)):
        with Runner("local", mappers=mappers, reducers=reducers) as runner:
            model = train(TrainConfig("logistic", [path], solver="lbfgs", l2=l2, n_features=d,
                                      max_iter=3), runner)
        models["%d mappers, %d reducers" % (mappers, reducers)] = model
    with Runner("local", mappers=1) as runner:
        started = time.time()
        train(TrainConfig("logistic", [one_row], solver="lbfgs", l2=l2, n_features=d,
                          max_iter=1), runner)
        out["fixed_seconds"] = time.time() - started
    base = models["2 mappers, 1 reducers"]
    out["pass_seconds"] = [e["seconds"] for e in base["history"]]
    packed_pass = float(np.median(out["pass_seconds"][1:]))
    out["packed_pass_over_scipy_gradient"] = round(
        (packed_pass - out["fixed_seconds"]) / out["scipy_gradient_seconds"], 2)
    out["packed_pass_over_scipy_load_and_gradient"] = round(
        (packed_pass - out["fixed_seconds"])
        / (out["scipy_load_seconds"] + out["scipy_gradient_seconds"]), 2)
    theta0 = np.append(base["coef"], base["intercept"])
    out["max_difference"] = {name: float(np.max(np.abs(np.append(m["coef"], m["intercept"])
                                                       - theta0)))
                             for name, m in models.items()}
    out["wire"] = []
    for reducers in reducers_list:
        lines, mapper_peak = split_record_pairs(path, d, 2, reducers, theta0)
        by_shard = [lines[r::reducers] for r in range(reducers)]
        out["wire"].append({
            "reducers": reducers, "split_record_bytes": sum(len(line) + 1 for line in lines),
            "bytes_per_feature": round(sum(len(line) + 1 for line in lines) / d, 2),
            "bound_bytes": 8 * d * (1 + 1.0 / reducers),
            "mapper_peak_mb": round(mapper_peak / 2 ** 20, 1),
            "reducer_peak_mb": round(max(reducer_peak(s, 2) for s in by_shard) / 2 ** 20, 1)})
    return out


def report(results):
    rows = ["| data | l2 | method | passes to 1e-3 / 1e-4 / 1e-6 (seconds) | scipy L-BFGS "
            "evaluations |", "|---|---|---|---|---|"]
    for case in results["passes"]:
        for run in case["runs"]:
            cells = " / ".join("-" if v is None else "%d (%.0f s)" % tuple(v)
                               for v in run["to_gap"].values())
            rows.append("| %s | %g | %s | %s | %s |" % (
                case["data"], case["l2"], run["method"], cells,
                " / ".join(str(v) for v in case["scipy_evaluations"].values())))
    rows += ["", "| held out | log-loss | seconds |", "|---|---:|---:|"]
    for run in results["held_out"]:
        rows.append("| %s | %.5f | %.1f |" % (run["name"], run["held_out_log_loss"],
                                             run["seconds"]))
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--bits", type=int, default=16)
    parser.add_argument("--nnz", type=int, default=40)
    parser.add_argument("--l2", default="1e-4,1e-5")
    parser.add_argument("--mappers", type=int, default=2)
    parser.add_argument("--few-rows", type=int, default=20000,
                        help="rows of the few-rows-per-split case (0: none)")
    parser.add_argument("--scale-rows", type=int, default=1000000)
    parser.add_argument("--scale-bits", type=int, default=20)
    parser.add_argument("--reducers", default="1,8")
    parser.add_argument("--max-passes", type=int, default=400)
    parser.add_argument("--no-vw", action="store_true")
    parser.add_argument("--out", default=os.path.join("bench", "results"))
    parser.add_argument("--scale-only", action="store_true",
                        help="only the pass at scale, replacing it in the saved wide.json")
    args = parser.parse_args(argv)
    if args.scale_only:
        return _scale_only(args)
    from sklearn.datasets import dump_svmlight_file
    d = 2 ** args.bits
    tmp = tempfile.mkdtemp(prefix="bench-wide-")
    X_all, y_all = rcv1_like(args.rows + args.rows // 4, args.bits, nnz=args.nnz)
    X, y, X_test, y_test = (X_all[:args.rows], y_all[:args.rows], X_all[args.rows:],
                            y_all[args.rows:])
    path = write_path = os.path.join(tmp, "train.svm")
    dump_svmlight_file(X, y, write_path, zero_based=False)
    few = os.path.join(tmp, "few.svm")
    if args.few_rows:
        dump_svmlight_file(X[:args.few_rows], y[:args.few_rows], few, zero_based=False)
    results = {"rows": args.rows, "features": d, "nnz_per_row": args.nnz,
               "mappers": args.mappers, "passes": [], "held_out": []}
    for l2 in (float(v) for v in args.l2.split(",")):
        cases = [("%d rows" % args.rows, path, args.rows, args.mappers)]
        if args.few_rows:
            cases.append(("%d rows, 4 mappers" % args.few_rows, few, args.few_rows, 4))
        for data, rows_path, n, mappers in cases:
            best, theta = logistic_optimum(X[:n], y[:n], l2)
            case = {"data": data, "l2": l2, "optimum": best,
                    "scipy_evaluations": scipy_evaluations(X[:n], y[:n], l2, best), "runs": []}
            for solver in ("giant", "lbfgs"):
                case["runs"].append(mrlearn_run(rows_path, d, l2, solver, mappers, best,
                                                args.max_passes))
                print(data, l2, case["runs"][-1], file=sys.stderr)
            results["passes"].append(case)
            if n == args.rows:
                results["held_out"].append({
                    "name": "mrlearn at l2 %g (the optimum, to a 1e-7 gap)" % l2,
                    "seconds": next(r["seconds"] for r in case["runs"]),
                    "held_out_log_loss": held_out_log_loss(theta, X_test, y_test)})
    if not args.no_vw:
        for passes in (1, 10):
            run = vowpal_wabbit(tmp, X, y, X_test, y_test, args.bits, passes)
            results["held_out"].append(dict(run, name="Vowpal Wabbit, %d passes" % passes))
    if args.scale_rows:
        results["scale"] = one_pass_at_scale(tmp, args.scale_rows, args.scale_bits, args.nnz,
                                             float(args.l2.split(",")[0]),
                                             [int(r) for r in args.reducers.split(",")])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "wide.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(report(results))
    return results


def _scale_only(args):
    path = os.path.join(args.out, "wide.json")
    with open(path) as f:
        results = json.load(f)
    results["scale"] = one_pass_at_scale(tempfile.mkdtemp(prefix="bench-wide-"),
                                         args.scale_rows, args.scale_bits, args.nnz,
                                         float(args.l2.split(",")[0]),
                                         [int(r) for r in args.reducers.split(",")])
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps(results["scale"], indent=1))
    return results


if __name__ == "__main__":
    main()
