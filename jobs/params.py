"""How a pass's parameters reach its tasks: in the command line when small, else a file.

Small parameters travel as ``--params-inline BASE64`` (URL-safe base64 of compact UTF-8
JSON: no shell quoting, no whitespace for Hadoop Streaming to split on), so a pass on a
cluster uploads nothing for them; larger ones as a JSON file (``--params``), which the
runner ships to every task. :func:`params_args` picks; :func:`load_params` reads either.

This module runs on task nodes: Python 3.9 standard library only.
"""
import base64
import json

INLINE_MAX_BYTES = 32 * 1024
"""Largest ``--params-inline`` value. Hadoop Streaming puts the task command line in the
task's environment too (``stream_map_streamprocessor``), and Linux caps one argument or
environment string at 128 KiB (MAX_ARG_STRLEN); 32 KiB stays well clear of both."""


def encode_inline(params):
    """The ``--params-inline`` value of ``params`` (a dict of JSON types), or None when it
    would exceed :data:`INLINE_MAX_BYTES`."""
    text = json.dumps(params, separators=(",", ":")).encode("utf-8")
    encoded = base64.urlsafe_b64encode(text).decode("ascii")
    return encoded if len(encoded) <= INLINE_MAX_BYTES else None


def add_params_args(job):
    """Declare both switches on an MRJob (``--params`` is a file mrjob ships)."""
    job.add_file_arg("--params", help="JSON file with this pass's parameters")
    job.add_passthru_arg("--params-inline", help="this pass's parameters, base64 of JSON")


def load_params(options):
    """The pass parameters (a dict) from a job's parsed options."""
    if options.params_inline:
        return json.loads(base64.urlsafe_b64decode(options.params_inline.encode("ascii")))
    with open(options.params) as f:
        return json.load(f)
