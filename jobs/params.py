"""How a pass's parameters reach its tasks: in the command line when small, else a file.

Small parameters travel as ``--params-inline BASE64`` (URL-safe base64 of compact UTF-8
JSON: no shell quoting, no whitespace for Hadoop Streaming to split on), so a pass on a
cluster uploads nothing for them; larger ones as a JSON file (``--params``), which the
runner ships to every task. :func:`params_args` picks; :func:`load_params` reads either.
Numeric lists of :data:`jobs.records.COMPACT_MIN_SIZE` floats or more (a wide model, a
search direction, a gradient) travel as base64 of their float64 bytes, as records do:
2 x 2^20 numbers of an L-BFGS line search are 22 MB instead of 40, and tasks decode them
without parsing a float. Tasks get them as float64 arrays.

This module runs on task nodes: Python 3.9, numpy and the standard library.
"""
import base64
import json

import numpy as np

from jobs.records import COMPACT_MIN_SIZE, base64_array, from_wire, to_json

INLINE_MAX_BYTES = 32 * 1024
"""Largest ``--params-inline`` value. Hadoop Streaming puts the task command line in the
task's environment too (``stream_map_streamprocessor``), and Linux caps one argument or
environment string at 128 KiB (MAX_ARG_STRLEN); 32 KiB stays well clear of both."""


def encode_inline(params):
    """The ``--params-inline`` value of ``params`` (a dict of JSON types), or None when it
    would exceed :data:`INLINE_MAX_BYTES`."""
    return inline_value(params_json(params))


def inline_value(text):
    """The ``--params-inline`` value of parameters whose :func:`params_json` is ``text``,
    or None when it would exceed :data:`INLINE_MAX_BYTES`."""
    encoded = base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")
    return encoded if len(encoded) <= INLINE_MAX_BYTES else None


def params_json(params):
    """The JSON text of ``params`` (a dict of JSON types) as tasks read it, long float lists
    compact."""
    return json.dumps(to_json(_float_arrays(params), compact=base64_array), separators=(",", ":"))


def _float_arrays(value):
    """``value`` with every list of :data:`COMPACT_MIN_SIZE` or more floats (nested lists
    of one shape included) as a float64 array."""
    if isinstance(value, dict):
        return {k: _float_arrays(v) for k, v in value.items()}
    if not isinstance(value, list):
        return value
    if len(value) >= COMPACT_MIN_SIZE or (value and isinstance(value[0], list)):
        try:
            array = np.asarray(value)
        except ValueError:  # ragged
            array = None
        if array is not None and array.dtype.kind == "f" and array.size >= COMPACT_MIN_SIZE:
            return array
    return [_float_arrays(v) for v in value]


def add_params_args(job):
    """Declare both switches on an MRJob (``--params`` is a file mrjob ships)."""
    job.add_file_arg("--params", help="JSON file with this pass's parameters")
    job.add_passthru_arg("--params-inline", help="this pass's parameters, base64 of JSON")


def load_params(options):
    """The pass parameters (a dict) from a job's parsed options."""
    if options.params_inline:
        return from_wire(json.loads(base64.urlsafe_b64decode(options.params_inline.encode("ascii"))))
    with open(options.params) as f:
        return from_wire(json.load(f))
