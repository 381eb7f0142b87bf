"""The one record a pass produces: merging partial records and their JSON form.

A record is a dict of named partial results. How two values merge follows from the
field's name, so every job, the reducer and the tests share one merge:

- ``*moments``: ``(n, mean, scatter)`` triples, merged with :func:`kernels.merge_moments`;
- ``*_rfactor``: ``(n, shift, R)`` triangular factors of a tall-skinny QR (``R`` a (2, q, q)
  double-double pair, see :mod:`jobs.tsqr`), merged with
  :func:`tsqr.merge_rfactor` (stack and re-factor; deterministic in the merge order, which
  the reducer fixes by split);
- ``*_rfactors``: lists of such factors (one per cross-validation fold), merged pairwise;
- ``*_top``: one top list per center set, merged with :func:`clustering.merge_top`;
- ``*_schema``: per-column summaries of a table (missing, numbers, text levels), merged
  with :func:`table.merge_schema`;
- ``*_samples``: one list of sampled rows per center set, concatenated;
- ``*_sketch``: score sketches (per-class counts in order-preserving bins of at most
  :data:`sketch.MAX_BINS` entries, whatever the row count), merged with
  :func:`sketch.merge_sketches` into the union at the finest common resolution, the same
  for any split layout and merge order;
- ``*_min`` / ``*_max``: elementwise minimum / maximum;
- ``first_bad``: the earliest bad row (by file, split start, line) or None;
- ``*_sketches``: lists of score sketches (one per class), merged pairwise;
- ``labels``: sorted distinct raw labels, capped at :data:`MAX_LABELS` + 1 values (one
  more than allowed, so that the driver can tell "too many");
- ``label_sums``: per-label vectors (dict: label key -> list), added per label;
- ``shard``: the coordinate block a shard record holds (:func:`shard_record`), the same
  in every record merged;
- dict values: per-key counts, added;
- anything else: numbers or nested lists of numbers, added elementwise (arrays of the
  same shape only: a shape mismatch is an error, never a broadcast).

**Model-parallel records.** The fields of :data:`COORDINATE_FIELDS` are sums over rows of
one number per coordinate of the model (gradients, the Hessian's diagonal, directions,
column sums). With ``shards`` R > 1 a split emits R shard records (:func:`shard_record`):
shard r holds block r of every coordinate field's last axis, shard 0 also every other
field; R reducers each sum one block, and :func:`join_shards` puts the R merged shard
records back into the one record of the pass.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import base64

import numpy as np

from jobs.clustering import merge_top
from jobs.kernels import merge_moments
from jobs.partitioning import ordered_key
from jobs.sketch import merge_sketches
from jobs.table import merge_schema
from jobs.tsqr import merge_rfactor

MAX_LABELS = 1000
"""Distinct labels a classifier may have (classes of a multiclass model)."""


def _merge_field(name, a, b):
    if a is None:
        return b
    if b is None:
        return a
    if name.endswith("moments"):
        return merge_moments(_as_moments(a), _as_moments(b))
    if name.endswith("_rfactor"):
        return merge_rfactor(_as_moments(a), _as_moments(b))
    if name.endswith("_rfactors"):
        return [merge_rfactor(_as_moments(x), _as_moments(y)) for x, y in zip(a, b)]
    if name.endswith("_top"):
        return [merge_top(x, y) for x, y in zip(a, b)]
    if name.endswith("_schema"):
        return merge_schema(a, b)
    if name.endswith("_samples"):
        return [list(x) + list(y) for x, y in zip(a, b)]
    if name.endswith("_sketch"):
        return merge_sketches(a, b)
    if name.endswith("_min"):
        return np.minimum(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    if name.endswith("_max"):
        return np.maximum(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    if name == "first_bad":
        return min(a, b, key=bad_row_position)
    if name.endswith("_sketches"):
        return [merge_sketches(x, y) for x, y in zip(a, b)]
    if name == "labels":
        return sorted(set(a) | set(b))[:MAX_LABELS + 1]
    if name == "shard":
        if a != b:
            raise ValueError("shard records of blocks %r and %r do not merge" % (a, b))
        return a
    if name == "label_sums":
        merged = dict(a)
        for k, v in b.items():
            merged[k] = np.add(np.asarray(merged.get(k, 0.0), dtype=np.float64),
                               np.asarray(v, dtype=np.float64))
        return merged
    if isinstance(a, dict):
        merged = dict(a)
        for k, v in b.items():
            merged[k] = merged.get(k, 0) + v
        return merged
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a + b
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError("record field %r: sums of shapes %s and %s do not merge"
                         % (name, a.shape, b.shape))
    return a + b


def _as_moments(m):
    """An ``(n, vector, matrix)`` triple (moments or R factor) with numpy arrays; ``n`` a
    count, or a total weight (weighted moments)."""
    n, mean, scatter = m
    return (int(n) if float(n).is_integer() else float(n)), np.asarray(mean, dtype=np.float64), np.asarray(scatter, dtype=np.float64)


def distinct_labels(y):
    """The ``labels`` field of a block with raw labels ``y`` (n,)."""
    return np.unique(y)[:MAX_LABELS + 1].tolist()


def bad_row_position(bad):
    """Sort key of a bad-row report: (file, split start, line within split)."""
    return bad["file"], bad["split_start"], bad["line_in_split"]


def merge_records(a, b):
    """Merge two records field by field (see the module docstring)."""
    merged = dict(a)
    for name, value in b.items():
        merged[name] = _merge_field(name, a.get(name), value)
    return merged


def merge_all(records):
    """Merge a sequence of records, in the order given. Returns {} for none."""
    merged = {}
    for record in records:
        merged = merge_records(merged, record)
    return merged


COORDINATE_FIELDS = ("grad", "hess_diag", "direction_sum", "column_sums", "weighted_theta")
"""Record fields summed coordinate by coordinate along their last axis, whose length is
the model's (d + 1, or d for ``column_sums``): the fields a model-parallel pass shards."""


def shard_bounds(length, shards):
    """Start of each of the ``shards`` contiguous blocks of ``length`` coordinates, and the
    end: ``shards + 1`` offsets, blocks of sizes differing by at most one."""
    return [length * r // shards for r in range(shards + 1)]


def shard_record(record, shards):
    """The ``shards`` shard records of a split ``record``: shard r holds block r of each
    :data:`COORDINATE_FIELDS` array (``shard_bounds`` of its last axis) and ``"shard": r``,
    shard 0 also every other field. One shard: the record itself."""
    if shards == 1:
        return [record]
    parts = [{"shard": r} for r in range(shards)]
    for name, value in record.items():
        if name in COORDINATE_FIELDS and value is not None:
            value = np.asarray(value, dtype=np.float64)
            bounds = shard_bounds(value.shape[-1], shards)
            for r, part in enumerate(parts):
                part[name] = value[..., bounds[r]:bounds[r + 1]]
        else:
            parts[0][name] = value
    return parts


def join_shards(records):
    """The one record of a pass from its merged shard records (any order): shard 0's
    fields, each coordinate field the concatenation of its blocks (plain lists, as the
    driver reads records)."""
    by_shard = sorted(records, key=lambda r: r["shard"])
    if [r["shard"] for r in by_shard] != list(range(len(records))):
        raise RuntimeError("pass produced shards %s, expected 0..%d"
                           % ([r["shard"] for r in by_shard], len(records) - 1))
    joined = {k: v for k, v in by_shard[0].items() if k != "shard"}
    for name in COORDINATE_FIELDS:
        if name in joined:
            joined[name] = np.concatenate([np.asarray(r[name], dtype=np.float64)
                                           for r in by_shard], axis=-1).tolist()
    return joined


def split_key(split, shard, shards):
    """The map output key of a split's shard record: the reducer of ``shard`` gets it
    (:func:`jobs.partitioning.ordered_key`), and keys sort by split (file, then start)."""
    file_name, start = split
    return ordered_key("%s@%016x" % (file_name, start), shard, shards)


COMPACT_MIN_SIZE = 1024
"""Float arrays of at least this many numbers travel between tasks as binary float64 (see
``compact`` in :func:`to_json`)."""
_ARRAY_TAG = "__float64_base64__"


def base64_array(array):
    """The JSON stand-in of a float64 array in text (pass parameters, the record of a
    packing pass): base64 of its little-endian bytes, 10.7 bytes a number instead of about
    20 of JSON, exact, and decoded by :func:`from_wire` without parsing a float."""
    return {_ARRAY_TAG: base64.b64encode(array.tobytes()).decode("ascii"),
            "shape": list(array.shape)}


def from_wire(value, lists=False):
    """Undo :func:`to_json` with :func:`base64_array`: such arrays back to float64 arrays
    (or, with ``lists``, nested lists: plain JSON types, as the driver reads records;
    arrays already decoded, as :mod:`jobs.wire` gives them, too)."""
    if isinstance(value, np.ndarray):
        return value.tolist() if lists else value
    if isinstance(value, dict):
        if _ARRAY_TAG in value:
            array = np.frombuffer(base64.b64decode(value[_ARRAY_TAG]), dtype="<f8").reshape(
                value["shape"])
            return array.tolist() if lists else array.astype(np.float64)
        return {k: from_wire(v, lists) for k, v in value.items()}
    if isinstance(value, list):
        return [from_wire(v, lists) for v in value]
    return value


def to_json(value, compact=None):
    """Turn numpy arrays and scalars (possibly nested in dicts/tuples) into JSON types.

    ``compact``, when given, turns each float array of :data:`COMPACT_MIN_SIZE` numbers or
    more (as contiguous little-endian float64) into its stand-in: :func:`base64_array` in
    JSON text, or :mod:`jobs.wire`'s reference into a binary record's bytes."""
    if isinstance(value, dict):
        return {str(k): to_json(v, compact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v, compact) for v in value]
    if isinstance(value, np.ndarray):
        if compact and value.dtype.kind == "f" and value.size >= COMPACT_MIN_SIZE:
            return compact(np.ascontiguousarray(value, dtype="<f8"))
        return value.tolist()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value
