"""``mrlearn partition`` and the shared way of writing N part files.

``hash`` and ``random`` take one pass; ``range`` takes two (a uniform sample of the key
column gives the N - 1 boundaries, then the partitioning pass).
"""
import numpy as np

from driver.errors import MrlearnError
from driver.locations import check_outputs
from driver.inputs import check_bad_rows, describe_inputs
from driver.passes import run_pass, run_partitioned
from jobs.partition_pass import MRPartitionPass
from jobs.partition_sample import MRPartitionSample

METHODS = ("hash", "range", "random")
SAMPLES_PER_PART = 1000


def write_parts(job_class, params, spec, output_dir, runner, skip_bad_rows, max_bad_fraction):
    """Run a partitioned-output job into a new ``output_dir``; returns its summary record.

    The caller has checked ``output_dir`` (:func:`driver.locations.check_outputs`); if
    the input has bad rows the run may not keep, removes what it wrote before raising (as
    on any failure).
    """

    def check(summary):
        check_bad_rows(summary, skip_bad_rows, max_bad_fraction)
        if summary["n"] == 0:
            raise MrlearnError("no usable rows in %s" % ", ".join(spec.files))

    return run_partitioned(job_class, dict(spec.params(), **params), spec.files, output_dir,
                           runner, check)


def partition(inputs, output_dir, parts, by, runner, key_col=None, seed=0, header="auto",
              skip_bad_rows=False, max_bad_fraction=0.1, format="auto", n_features=None):
    """Split the rows of ``inputs`` into exactly ``parts`` files in ``output_dir``.

    Returns the summary record (``n`` rows written, ``bad_rows`` skipped).
    """
    if parts < 1 or by not in METHODS:
        raise MrlearnError("need --parts >= 1 and --by one of %s" % ", ".join(METHODS))
    check_outputs(inputs, output_dir=output_dir)
    spec = describe_inputs(inputs, None, header, format, n_features)
    if spec.plan:
        raise MrlearnError("partition splits tables of numbers; %s is a table with text, quoted or "
                           "missing values: train, predict and evaluate read it directly"
                           % spec.files[0])
    if spec.format == "libsvm" or spec.packed:
        raise MrlearnError("partition splits CSV rows; %s is %s" % (
            spec.files[0], "libsvm" if spec.format == "libsvm" else "packed by prepare"))
    if key_col is not None and not -spec.n_columns <= key_col < spec.n_columns:
        raise MrlearnError("--key-col %d is outside the %d columns of %s"
                           % (key_col, spec.n_columns, spec.files[0]))
    if by == "range" and key_col is None:
        raise MrlearnError("--by range needs --key-col")
    key_col = None if key_col is None else key_col % spec.n_columns
    params = {"parts": parts, "by": by, "key_col": key_col, "seed": seed}
    if by == "range":
        params["boundaries"] = range_boundaries(spec, key_col, seed, parts, runner,
                                                skip_bad_rows, max_bad_fraction)
    return write_parts(MRPartitionPass, params, spec, output_dir, runner, skip_bad_rows,
                       max_bad_fraction)


def range_boundaries(spec, key_col, seed, parts, runner, skip_bad_rows, max_bad_fraction):
    """N - 1 ``[key, tie]`` boundaries at the quantiles of a uniform sample (one pass)."""
    params = dict(spec.params(), key_col=key_col, seed=seed,
                  sample_size=SAMPLES_PER_PART * parts)
    record = run_pass(MRPartitionSample, params, spec.files, runner)
    check_bad_rows(record, skip_bad_rows, max_bad_fraction)
    sample = sorted((key, tie) for _, key, tie in record["sample_top"][0][1])
    if not sample:
        raise MrlearnError("no usable rows in %s" % ", ".join(spec.files))
    ranks = np.arange(1, parts) * len(sample) // parts
    return [list(sample[max(r - 1, 0)]) for r in ranks]
