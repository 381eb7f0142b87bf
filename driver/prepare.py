"""``mrlearn prepare``: parse and validate once, write packed blocks and column statistics.

Output: ``parts`` part files of packed lines (:mod:`jobs.packed`) and the sidecar
``_mrlearn_stats.json``: ``format`` ("mrlearn-prepared"), ``n_columns``, ``rows``,
``bad_rows``, ``inputs`` and per column ``count``, ``mean``, ``variance`` (population),
``min``, ``max`` (merged across splits with Chan et al.'s update). Training, evaluate and
predict read the packed files without parsing text.
"""
import json

import numpy as np

import hdfs_utils
from driver.errors import MrlearnError
from driver.locations import check_outputs
from driver.inputs import STATS_FILE, describe_inputs
from driver.partition import write_parts
from driver.table import TableOptions
from driver.train import fit_table
from jobs.prepare_pass import MRPreparePass


def prepare(inputs, output_dir, runner, parts=None, header="auto", skip_bad_rows=False,
            max_bad_fraction=0.1, format="auto", n_features=None, table_options=None,
            label_col=None):
    """Write ``inputs`` as packed blocks into ``output_dir``; returns the sidecar (dict).

    libsvm rows become dense rows, label first (at most 512 features). A table
    (:mod:`driver.table`) is encoded after its schema pass (every kept level its column,
    no reference dropped: a fit drops it when it needs to), its label (``label_col`` or
    ``table_options.label``; None: none) first; the sidecar adds ``table`` (the encoding)
    and ``classes`` (a text label's).
    """
    if parts is not None and parts < 1:
        raise MrlearnError("--parts must be at least 1, not %d" % parts)
    check_outputs(inputs, output_dir=output_dir)
    spec = describe_inputs(inputs, label_col, header, format, n_features, None, table_options)
    classes = None
    if spec.plan:
        classes = fit_table(spec, table_options or TableOptions(), runner, False,
                            skip_bad_rows, max_bad_fraction)
    elif label_col is not None:
        raise MrlearnError("prepare keeps every column of a table of numbers as it is; give "
                           "--label only for a table (text, quoted or missing values)")
    if spec.format == "libsvm":
        if spec.sparse:
            raise MrlearnError("prepare packs dense rows: %d features is too wide; train on "
                               "the libsvm files directly" % spec.n_features)
        spec.label_col = 0
    parts = parts or max(1, len(spec.files))
    summary = write_parts(MRPreparePass, {"parts": parts}, spec, output_dir, runner,
                          skip_bad_rows, max_bad_fraction)
    n, mean, squared_deviations = summary["column_moments"]
    n_columns = spec.n_features + (spec.label_col is not None) if spec.table else spec.n_columns
    stats = {
        "format": "mrlearn-prepared", "format_version": 1, "n_columns": n_columns,
        "rows": summary["n"], "bad_rows": summary["bad_rows"], "inputs": list(inputs),
        "columns": {"count": [n] * n_columns, "mean": mean,
                    "variance": (np.asarray(squared_deviations) / n).tolist(),
                    "min": summary["column_min"], "max": summary["column_max"]},
    }
    if spec.table:
        stats.update(table=spec.table, classes=classes)
    hdfs_utils.write_text(output_dir.rstrip("/") + "/" + STATS_FILE, json.dumps(stats, indent=1))
    return stats
