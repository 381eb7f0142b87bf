"""Mapper CPU of one logistic-gradient pass over CSV vs the same rows packed by `prepare`.

    python bench/packed_vs_csv.py [--rows 1000000]

Data: ``make_classification(n_samples=ROWS, n_features=20, n_informative=10,
n_redundant=5, flip_y=0.05, random_state=7)``, label first. Both inputs are fed, line by
line as Hadoop streaming would, through the same ``MRObjectivePass`` mapper (parameters:
logistic loss, gradient at one candidate), measuring process CPU seconds; then both are
run as a whole pass on the inline runner (wall seconds). Prints the figures and ratios.
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.datasets import logistic_data, rows_argument, write_csv  # noqa: E402
from driver.inputs import describe_inputs  # noqa: E402
from driver.passes import Runner, run_pass  # noqa: E402
from driver.prepare import prepare  # noqa: E402
from jobs.objective_pass import MRObjectivePass  # noqa: E402


def mapper_cpu_seconds(files, params, params_path):
    """CPU seconds of the job's mapper over every line of ``files``, in this process."""
    job = MRObjectivePass(args=["--params", params_path])
    started = time.process_time()
    for path in files:
        job.mapper_init()
        with open(path) as f:
            for line in f:
                for _ in job.mapper(None, line.rstrip("\n")) or ():
                    pass
        for _ in job.mapper_final():
            pass
    return time.process_time() - started


def main():
    rows = rows_argument(__doc__)
    X, y = logistic_data(rows)
    with tempfile.TemporaryDirectory() as tmp, Runner("inline") as runner:
        csv = write_csv(os.path.join(tmp, "data.csv"), y, X)
        started = time.time()
        prepare([csv], os.path.join(tmp, "packed"), runner)
        prepare_seconds = time.time() - started
        figures = {"rows": rows, "prepare_seconds": prepare_seconds}
        for name, path in (("csv", csv), ("packed", os.path.join(tmp, "packed"))):
            spec = describe_inputs([path])
            params = dict(spec.params(), loss="logistic", thetas=[[0.0] * 21], order=1)
            params_path = os.path.join(tmp, name + ".json")
            json.dump(params, open(params_path, "w"))
            figures[name + "_mapper_cpu_seconds"] = mapper_cpu_seconds(spec.files, params,
                                                                       params_path)
            started = time.time()
            run_pass(MRObjectivePass, params, spec.files, runner)
            figures[name + "_inline_pass_seconds"] = time.time() - started
            figures[name + "_bytes"] = sum(os.path.getsize(f) for f in spec.files)
    figures["mapper_cpu_ratio_packed_over_csv"] = (figures["packed_mapper_cpu_seconds"]
                                                  / figures["csv_mapper_cpu_seconds"])
    figures["inline_pass_ratio_packed_over_csv"] = (figures["packed_inline_pass_seconds"]
                                                   / figures["csv_inline_pass_seconds"])
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
