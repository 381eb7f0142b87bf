"""``mrlearn predict``: one pass writing one prediction line per input row."""
from driver.locations import check_outputs
from driver.inputs import DEFAULT_MAX_BAD_FRACTION, check_bad_rows
from driver.model import apply_params, inputs_for_model
from driver.passes import run_partitioned
from jobs.predict_pass import MRPredictPass

MAX_PARTS = 256
"""Inputs of more files than this share part files (file i goes to part i mod 256)."""


def predict(model, inputs, output_dir, runner, label_col="default", header="auto",
            skip_bad_rows=False, max_bad_fraction=DEFAULT_MAX_BAD_FRACTION, weight_col=None):
    """Write predictions of ``model`` for ``inputs`` to part files in ``output_dir``.

    Part file ``i`` holds the predictions for input file ``i``, in row order (with more
    than :data:`MAX_PARTS` files, part ``i`` holds files ``i``, ``i + 256``, ...). A label
    column (column 0 by default for supervised models, none for k-means) is ignored, and
    so is a weight column ``weight_col`` (the rows a model was trained on, weights and all).
    Returns the number of bad rows skipped. Refuses an existing ``output_dir``; on a bad
    row (without ``skip_bad_rows``), an error or Ctrl-C removes what it wrote.
    """
    check_outputs(inputs, output_dir=output_dir)
    spec = inputs_for_model(model, inputs, label_col, header, weight_col)
    if spec.table:  # every row gets a prediction: labelled or not, its label seen or not
        spec.table = dict(spec.table, keep_unlabeled=True, columns=[
            dict(c, role="ignored") if c["role"] == "label" and model["algo"] != "linear"
            else c for c in spec.table["columns"]])
        if model["algo"] != "linear":
            spec.label_col = None
    params = dict(spec.params(), files=runner.input_paths(spec.files),
                  parts=min(len(spec.files), MAX_PARTS), **apply_params(model))
    summary = run_partitioned(MRPredictPass, params, spec.files, output_dir, runner,
                              lambda s: check_bad_rows(s, skip_bad_rows, max_bad_fraction))
    return summary["bad_rows"]
