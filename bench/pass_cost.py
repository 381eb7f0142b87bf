"""What one pass costs: over CSV and packed input, against the single-process limit, and
the fixed cost of a pass over one row, with where that time goes.

Every pass measured here is a Newton pass of the logistic benchmark (loss and gradient
sums at 4 trial steps, Hessian sums at the first, :func:`newton_pass_params`), run in this
process by :func:`driver.passes.run_pass` as the training loop runs it.
"""
import contextlib
import functools
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from mrjob.bin import MRJobBinRunner
from mrjob.job import MRJob
from mrjob.runner import MRJobRunner
from mrjob.sim import SimMRJobRunner

from driver.inputs import describe_inputs
from driver.passes import Runner, run_pass
from jobs.kernels import encode_labels, loss_sums
from jobs.objective_pass import MRObjectivePass

TRIAL_STEPS = 4
"""Candidates a Newton pass evaluates (its line search's trial steps)."""

PASS_PHASES = [
    # (label, class, method): mrjob 0.7.4's steps of one pass, in the order they run
    ("construct the job", MRJob, "__init__"),
    ("make the runner", MRJob, "make_runner"),
    ("check input paths", MRJobRunner, "_check_input_paths"),
    ("write mrjob.zip and the setup wrapper", MRJobBinRunner, "_create_setup_wrapper_scripts"),
    ("copy files for the tasks", SimMRJobRunner, "_create_dist_cache_dir"),
    ("split the input", SimMRJobRunner, "_split_mapper_input"),
    ("map tasks", SimMRJobRunner, "_run_mappers_and_combiners"),
    ("sort map output", SimMRJobRunner, "_sort_reducer_input"),
    ("split reducer input", SimMRJobRunner, "_split_reducer_input"),
    ("reduce task", SimMRJobRunner, "_run_reducers"),
    ("remove temporary files", MRJobRunner, "cleanup"),
]
OTHER_PHASE = "rest of the pass (driver, reading the output)"
TASK_INTERPRETER = [sys.executable, "-c", "import numpy, mrjob.job"]


def newton_pass_params(spec):
    """Parameters of a Newton pass over ``spec`` (an :class:`driver.inputs.InputSpec`):
    loss and gradient at :data:`TRIAL_STEPS` candidates, the Hessian at the first (as
    :class:`driver.solvers.Newton` asks). They are all zero: the cost of the sums does not
    depend on the values."""
    thetas = np.zeros((TRIAL_STEPS, spec.n_features + 1))
    return dict(spec.params(), loss="logistic", thetas=thetas.tolist(), order=2,
                hess_at=0)


def pass_seconds(path, runner_name, mappers=None):
    """Wall seconds of one Newton pass over ``path`` (CSV file or packed directory)."""
    spec = describe_inputs([path])
    with Runner(runner_name, mappers=mappers) as runner:
        started = time.perf_counter()
        run_pass(MRObjectivePass, newton_pass_params(spec), spec.files, runner)
        return time.perf_counter() - started


def single_process_seconds(csv):
    """Wall seconds of the same pass done in one process without mrjob: pandas
    ``read_csv`` of the file, then the job's kernel (:func:`jobs.kernels.loss_sums`)
    over all rows at once."""
    started = time.perf_counter()
    values = pd.read_csv(csv, header=None, dtype=np.float64).to_numpy()
    thetas = np.asarray(newton_pass_params(describe_inputs([csv]))["thetas"])
    loss_sums("logistic", values[:, 1:], encode_labels(values[:, 0], "logistic"), thetas, 2)
    return time.perf_counter() - started


@contextlib.contextmanager
def timed_phases(phases):
    """Time the methods named in ``phases`` ((label, class, method name) triples) while the
    block runs; yields a dict label -> seconds, summed over calls.

    A call made while another timed method runs counts toward that outer one only
    (inline tasks construct jobs inside "map tasks"), so the phases do not overlap.
    """
    seconds = {label: 0.0 for label, _, _ in phases}
    active = []

    def timed(label, method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            if active:
                return method(*args, **kwargs)
            active.append(label)
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - started
                active.pop()
        return wrapper

    originals = [(owner, name, owner.__dict__[name]) for _, owner, name in phases]
    try:
        for (label, owner, name), (_, _, method) in zip(phases, originals):
            setattr(owner, name, timed(label, method))
        yield seconds
    finally:
        for owner, name, method in originals:
            setattr(owner, name, method)


def fixed_cost(one_row_csv, runner_name, repeats):
    """Mean wall seconds of a Newton pass over a one-row CSV on ``runner_name``, over
    ``repeats`` passes after one warm-up pass (the steady state of a training run, where
    the runner is reused), and the mean seconds of each :data:`PASS_PHASES` step."""
    spec = describe_inputs([one_row_csv])
    params = newton_pass_params(spec)
    with Runner(runner_name) as runner:
        run_pass(MRObjectivePass, params, spec.files, runner)
        with timed_phases(PASS_PHASES) as phase_seconds:
            started = time.perf_counter()
            for _ in range(repeats):
                run_pass(MRObjectivePass, params, spec.files, runner)
            total = time.perf_counter() - started
    phases = {label: seconds / repeats for label, seconds in phase_seconds.items()}
    phases[OTHER_PHASE] = (total - sum(phase_seconds.values())) / repeats
    return {"runner": runner_name, "seconds": total / repeats, "phases": phases}


def task_interpreter_seconds(repeats):
    """Median wall seconds to start a Python that imports numpy and mrjob.job, as every
    map or reduce task of the local runner does before reading a line."""
    def once():
        started = time.perf_counter()
        subprocess.run(TASK_INTERPRETER, check=True)
        return time.perf_counter() - started
    return statistics.median(once() for _ in range(repeats))
