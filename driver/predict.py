"""``mrlearn predict``: a map-only pass writing one prediction line per input row."""
import hdfs_utils
from driver.errors import MrlearnError
from driver.inputs import DEFAULT_MAX_BAD_FRACTION, check_bad_rows
from driver.model import apply_params, inputs_for_model
from driver.passes import run_map_only
from jobs.base import BAD_ROWS_COUNTER, COUNTER_GROUP
from jobs.predict_pass import FIRST_BAD_GROUP, ROWS_COUNTER, MRPredictPass
from jobs.records import bad_row_position


def predict(model, inputs, output_dir, runner, label_col="default", header="auto",
            skip_bad_rows=False, max_bad_fraction=DEFAULT_MAX_BAD_FRACTION):
    """Write predictions of ``model`` for ``inputs`` to part files in ``output_dir``.

    A label column (column 0 by default for supervised models, none for k-means) is
    ignored. Returns the number of bad rows skipped. Refuses an existing ``output_dir``;
    on a bad row (without ``skip_bad_rows``) removes what it wrote.
    """
    spec = inputs_for_model(model, inputs, label_col, header)
    if hdfs_utils.exists(output_dir):
        raise MrlearnError("output %s already exists; choose a new --output or remove it"
                           % output_dir)
    params = dict(spec.params(), **apply_params(model))
    counters = run_map_only(MRPredictPass, params, spec.files, output_dir, runner)
    bad_rows = counters.get(COUNTER_GROUP, {}).get(BAD_ROWS_COUNTER, 0)
    if bad_rows:
        first = min((_parse_first_bad(name) for name in counters.get(FIRST_BAD_GROUP, {})),
                    key=bad_row_position)
        record = {"bad_rows": bad_rows, "first_bad": first,
                  "n": counters.get(COUNTER_GROUP, {}).get(ROWS_COUNTER, 0)}
        try:
            check_bad_rows(record, skip_bad_rows, max_bad_fraction)
        except MrlearnError:
            hdfs_utils.remove(output_dir)
            raise
    return bad_rows


def _parse_first_bad(counter_name):
    """Inverse of the predict job's ``file|split start|line|reason`` counter name."""
    path, split_start, line, reason = counter_name.split("|", 3)
    return {"file": path, "split_start": int(split_start), "line_in_split": int(line),
            "text": "", "reason": reason}
