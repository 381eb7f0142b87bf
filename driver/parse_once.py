"""Parse once: training over text writes the rows it parsed during its first pass as packed
blocks (:mod:`jobs.packed`), and every later pass reads those instead of the text.

A CSV pass spends most of its mapper time parsing (7.3 s per 1M rows against 0.66 s for
packed blocks); a packing pass adds the blocks to the pass's output (one more reducer for
the record) instead of costing a pass of its own as ``mrlearn prepare`` does.

Applies to numeric CSV and libsvm (sparse rows in a packed format of their own: 100k
rows x 40 entries of 2^20 features parse in 3.7 s, their gradient takes 0.06 s; not
tables or input already packed) large enough that packing pays (:meth:`driver.passes.Runner.packs_text`). The blocks go to ``<checkpoint
dir>/packed`` (kept with the checkpoint, so ``--resume`` reads them; a marker file written
after the pass says they are whole) or to the runner's temp directory, removed when the
command ends.
"""
import json
import logging

import hdfs_utils
from driver.passes import run_packing, run_pass

log = logging.getLogger(__name__)

PACKED_DIR = "packed"
MARKER = "_mrlearn_packed.json"


class ParseOnce:
    """Runs a training loop's passes over ``spec``'s files, packing them on the first
    (unless the solver needs ``one_pass``); the spec (an :class:`driver.inputs.InputSpec`)
    then describes the packed files."""

    def __init__(self, spec, runner, checkpoint_dir=None, resume=False, one_pass=False):
        self.spec = spec
        self.runner = runner
        self.directory = None if one_pass else _directory(spec, runner, checkpoint_dir)
        marker = self._whole_marker() if self.directory and resume else None
        if marker:
            self._read_packed(marker)

    def _whole_marker(self):
        """The marker of whole packed blocks for this input, or None: then (missing,
        damaged, another input's, a part file gone) the first pass packs them again from
        the input, which the checkpoint's fingerprint vouches for."""
        try:
            marker = json.loads(hdfs_utils.read_text(self._marker()))
            parts = ["%s/part-%05d" % (self.directory.rstrip("/"), i)
                     for i in range(int(marker["parts"]))]
            whole = (marker["inputs"] == self.spec.files and marker["n_columns"] ==
                     self.spec.n_columns and all(hdfs_utils.exists(p) for p in parts))
        except (OSError, ValueError, KeyError, TypeError):
            whole = False
        if not whole and hdfs_utils.exists(self.directory):
            log.warning("%s does not hold whole packed blocks of the input; the first pass "
                        "packs them again", self.directory)
        return marker if whole else None

    def run_pass(self, job_class, params):
        """One pass (see :func:`driver.passes.run_pass`); the first over text packs."""
        if not self.directory or self.spec.packed:
            return run_pass(job_class, params, self.spec.files, self.runner)
        hdfs_utils.remove(self.directory)  # what a crashed first pass left
        parts = self.runner.pack_parts(self.spec.files)
        record = run_packing(job_class, params, self.spec.files, self.directory, self.runner,
                             parts)
        marker = {"format": "mrlearn-packed", "n_columns": self.spec.n_columns,
                  "parts": parts, "inputs": self.spec.files}
        hdfs_utils.write_text(self._marker(), json.dumps(marker))
        self._read_packed(marker)
        return record

    def _marker(self):
        return self.directory.rstrip("/") + "/" + MARKER

    def _read_packed(self, marker):
        self.spec.files = ["%s/part-%05d" % (self.directory.rstrip("/"), i)
                           for i in range(marker["parts"])]
        self.spec.packed = True
        self.spec.header = "no"


def _directory(spec, runner, checkpoint_dir):
    """Where the packed blocks go, or None when this run does not pack."""
    text = not (spec.packed or spec.plan or spec.table or spec.format not in ("csv", "libsvm"))
    if not (text and runner.packs_text(spec.files)):
        return None
    if checkpoint_dir:
        return checkpoint_dir.rstrip("/") + "/" + PACKED_DIR
    return runner.temp_dir().rstrip("/") + "/" + PACKED_DIR
