"""Tables as they are: which CSV inputs are tables, their columns by name, and the encoding
fitted from the schema pass (see :mod:`jobs.table` for what the encoding means on the
task nodes).

A CSV input is read as a table when any table option is given (:class:`TableOptions`),
when its separator is not a comma, or when its first :data:`HEAD_LINES` lines hold a
quoted, missing or text value; otherwise it stays on the numeric fast path. A table costs
one pass more (the schema pass) before training; predict and evaluate take the encoding
from the model and cost none.
"""
from driver.errors import MrlearnError
from jobs.parsing import is_number
from jobs.table import LEVELS_CAP, NA_VALUES, split_fields

HEAD_LINES = 200
SEPARATORS = (",", "\t", ";", "|")
DEFAULT_MAX_LEVELS = 1000
NA_MODES = ("impute", "error")
MAX_HASH_BITS = 20
MISSING_NAME = "(missing)"
"""How the missing level of a categorical column shows in feature names."""


class TableOptions:
    """The user's table options: ``label`` (a column name or None), ``features`` (names or
    0-based numbers, None = every other column), ``ignore``, ``categorical`` (columns whose
    values are levels even when numbers), ``na_values`` (None = :data:`NA_VALUES`),
    ``max_levels`` (kept levels per categorical column), ``sep`` (None = detected),
    ``positive_class`` (binary string labels; None = the second in sorted order),
    ``missing_indicator`` (a 0/1 column after each numeric feature that had missing values),
    ``na`` (``impute``, or ``error``: a missing feature value makes a bad row), ``weight``
    (the name of the weight column, when ``--weight-col`` gives one), ``hash_categorical``
    (bits B: text feature columns of more than ``max_levels`` levels are hashed, signed,
    into one shared space of 2^B columns instead of truncated)."""

    FIELDS = ("label", "features", "ignore", "categorical", "na_values", "max_levels", "sep",
              "positive_class", "missing_indicator", "na", "weight", "hash_categorical")

    def __init__(self, label=None, features=None, ignore=(), categorical=(), na_values=None,
                 max_levels=DEFAULT_MAX_LEVELS, sep=None, positive_class=None,
                 missing_indicator=False, na="impute", weight=None, hash_categorical=None):
        if sep is not None and sep not in SEPARATORS:
            raise MrlearnError("--sep must be one of %s, not %r"
                               % (", ".join(repr(s) for s in SEPARATORS), sep))
        if max_levels < 1:
            raise MrlearnError("--max-levels must be at least 1, not %d" % max_levels)
        self.label, self.features, self.ignore = label, features, list(ignore)
        self.categorical, self.na_values = list(categorical), na_values
        self.max_levels, self.sep, self.positive_class = max_levels, sep, positive_class
        if na not in NA_MODES:
            raise MrlearnError("--na must be impute or error, not %r" % na)
        self.missing_indicator, self.na, self.weight = missing_indicator, na, weight
        if hash_categorical is not None and not 1 <= hash_categorical <= MAX_HASH_BITS:
            raise MrlearnError("--hash-categorical takes bits from 1 to %d, not %d"
                               % (MAX_HASH_BITS, hash_categorical))
        self.hash_categorical = hash_categorical

    def given(self):
        """Whether any option differs from its default (then the input is a table)."""
        return self.to_json() != {}

    def to_json(self):
        """The options that differ from the defaults (JSON types)."""
        default = TableOptions()
        return {k: getattr(self, k) for k in self.FIELDS
                if getattr(self, k) != getattr(default, k)}

    @classmethod
    def from_json(cls, fields):
        return cls(**(fields or {}))


def detect_sep(lines):
    """The separator of SEPARATORS found the same positive number of times in every one of
    ``lines`` (outside quotes), the most frequent first; ``,`` when none is."""
    best, best_count = ",", 0
    for sep in SEPARATORS:
        counts = {len(row) - 1 for row in split_fields(lines, sep) if row}
        if len(counts) == 1 and min(counts) > best_count:
            best, best_count = sep, min(counts)
    return best


def table_plan(path, head, header, options):
    """``(plan, has_header)`` for the CSV file ``path`` whose first lines are ``head``:
    ``plan`` None when it is a table of numbers (the fast path), else ``{sep, names,
    na_values}`` (``names`` None without a header).

    A table of numbers: comma-separated, no quotes, no missing value that is not a number
    (``NaN`` is a number, a bad row on the fast path), and no column mostly text in the
    lines after the first (a stray word is a bad row there, named as such).
    """
    sep = options.sep or detect_sep([line for line in head[:20] if line.strip()])
    rows = [row for row in split_fields(head, sep) if row]
    first = rows[0]
    has_header = header == "yes" or (header == "auto" and not any(map(is_number, first)))
    na_values = list(NA_VALUES if options.na_values is None else options.na_values)
    if options.given() or sep != "," or any('"' in line for line in head) or _has_text(
            rows[1:], na_values):
        return {"sep": sep, "names": first if has_header else None,
                "na_values": na_values}, has_header
    return None, has_header


def _has_text(rows, na_values):
    """Whether ``rows`` hold a missing value that is not a number, or a column whose
    present values are mostly text."""
    missing = {v for v in na_values if not is_number(v)}
    width = len(rows[0]) if rows else 0
    columns = zip(*[row for row in rows if len(row) == width])
    for values in columns:
        if missing.intersection(values):
            return True
        text = sum(not is_number(v) for v in values)
        if 2 * text > len(values):
            return True
    return False


def column_index(names, n_columns, column, option):
    """The 0-based index of ``column`` (a name, or a number as int or digit string)."""
    if isinstance(column, int) or (isinstance(column, str) and column.lstrip("-").isdigit()):
        index = int(column)
        if not -n_columns <= index < n_columns:
            raise MrlearnError("%s %s is outside the %d columns" % (option, column, n_columns))
        return index % n_columns
    if names is None:
        raise MrlearnError("%s %s names a column, but the input has no header line; give "
                           "column numbers or --header yes" % (option, column))
    if column not in names:
        raise MrlearnError("%s %r is not a column of the input; its columns: %s"
                           % (option, column, ", ".join(names[:30])))
    return names.index(column)


def roles(plan, n_columns, label_col, weight_col, options):
    """Role of each column (list of ``label``/``weight``/``feature``/``ignored``)."""
    names = plan["names"]
    out = ["ignored"] * n_columns
    features = (range(n_columns) if options.features is None else
                [column_index(names, n_columns, c, "--features") for c in options.features])
    for j in features:
        out[j] = "feature"
    for c in options.ignore:
        out[column_index(names, n_columns, c, "--ignore")] = "ignored"
    if weight_col is not None:
        out[weight_col] = "weight"
    if label_col is not None:
        out[label_col] = "label"
    if "feature" not in out:
        raise MrlearnError("no feature column is left (check --features and --ignore)")
    return out


def schema_table(plan, n_columns, options):
    """The ``table`` parameter of the schema pass."""
    categorical = [column_index(plan["names"], n_columns, c, "--categorical")
                   for c in options.categorical]
    return {"sep": plan["sep"], "na_values": plan["na_values"], "n_columns": n_columns,
            "categorical": categorical}


def build_table(plan, schema, column_roles, options, drop_first, path):
    """The encoding (``table`` parameter of every later pass, stored in the model) from the
    schema pass's ``columns_schema`` and each column's role.

    A column is categorical when ``--categorical`` names it or when most of its present
    values are text; else numeric, and its text values make bad rows (a stray ``abc``
    among numbers is a broken row more likely than a level).

    ``drop_first``: unpenalized fits drop the first level of each categorical feature
    column that kept all its levels (the reference; a truncated column's all-zero code is
    already its "other").
    """
    names = plan["names"] or ["x%d" % j for j in range(len(schema))]
    forced = set(schema_table(plan, len(schema), options)["categorical"])
    columns, feature_names = [], []
    for j, (summary, role) in enumerate(zip(schema, column_roles)):
        column = {"name": names[j], "role": role}
        if role == "feature":
            column["offset"] = len(feature_names)
        if role in ("feature", "label"):
            text = j in forced or summary.get("overflow") or (
                sum(summary["levels"].values()) > summary["numbers"])
            if text and role == "feature" and _hashed(summary, options):
                column.update(type="hashed", offset=None)  # set below: the shared space
            elif text:
                column.update(_levels(summary, names[j], role, options, path))
                if role == "feature":
                    column["drop_first"] = bool(drop_first and not column["truncated"])
                    first = 1 if column["drop_first"] else 0
                    feature_names += ["%s=%s" % (names[j], MISSING_NAME if level is None
                                                  else level)
                                      for level in column["levels"][first:]]
                else:
                    column.pop("truncated")
            else:
                n = summary["numbers"]
                column.update(type="numeric", mean=summary["sum"] / n if n else 0.0)
                if role == "feature":
                    feature_names.append(names[j])
                    if options.missing_indicator and summary["missing"]:
                        column["indicator"] = True
                        feature_names.append(names[j] + "=" + MISSING_NAME)
        columns.append(column)
    table = {"sep": plan["sep"], "na_values": plan["na_values"], "n_columns": len(schema),
             "columns": columns, "na_error": options.na == "error"}
    if any(c.get("type") == "hashed" for c in columns):
        for c in columns:
            if c.get("type") == "hashed":
                c["offset"] = len(feature_names)
        feature_names += ["hash[%d]" % i for i in range(1 << options.hash_categorical)]
        table["hash_bits"] = options.hash_categorical
    return dict(table, feature_names=feature_names, n_features=len(feature_names))


def with_references(table, drop_first):
    """``(table, drop)``: a prepared (full one-hot) encoding as a fit uses it. With
    ``drop_first``, the first level of each text feature column that kept all its levels
    gets no column; ``drop`` lists those columns in the full layout (sorted), and the
    offsets and feature names follow."""
    full = table["feature_names"]
    drop = sorted(c["offset"] for c in table["columns"] if drop_first and c["role"] == "feature"
                  and c.get("type") == "categorical" and not c["truncated"])
    kept = [j for j in range(len(full)) if j not in set(drop)]
    position = {j: i for i, j in enumerate(kept)}
    columns = []
    for c in table["columns"]:
        c = dict(c)
        if c["role"] == "feature" and c["offset"] in drop:
            c.update(drop_first=True, offset=position.get(c["offset"] + 1, len(kept)))
        elif c["role"] == "feature":
            c["offset"] = position[c["offset"]]
        columns.append(c)
    names = [full[j] for j in kept]
    return dict(table, columns=columns, feature_names=names, n_features=len(names)), drop


def _hashed(summary, options):
    """Whether ``--hash-categorical`` hashes a text feature column: one of more levels than
    ``--max-levels`` keeps (or than the schema counts)."""
    return bool(options.hash_categorical) and (
        summary.get("overflow") or len(summary["levels"]) + bool(summary["missing"])
        > options.max_levels)


def _levels(summary, name, role, options, path):
    """``type``, ``levels`` (sorted, the missing level ``None`` last) and ``truncated`` (some
    levels left out) of a categorical column: its ``max_levels`` most frequent values (ties
    by value)."""
    if summary.get("overflow"):
        raise MrlearnError("column %r of %s has more than %d distinct values: it looks like an "
                           "identifier; give --ignore %s, or --hash-categorical B to hash it"
                           % (name, path, LEVELS_CAP, name))
    counts = dict(summary["levels"])
    if summary["missing"] and role == "feature":
        counts[None] = summary["missing"]
    ranked = sorted(counts, key=lambda v: (-counts[v], v is None, v or ""))
    limit = len(ranked) if role == "label" else options.max_levels
    kept = sorted(ranked[:limit], key=lambda v: (v is None, v or ""))
    return {"type": "categorical", "levels": kept, "truncated": len(ranked) > limit}


def string_classes(table, options, path):
    """For a categorical label: the class names (list of str), in the order of the indices
    the label encodes to (sorted; binary: the positive class, ``--positive-class`` or the
    second in sorted order, last); None for a numeric label."""
    label = next((c for c in table["columns"] if c["role"] == "label"), None)
    if label is None or label.get("type") != "categorical":
        return None
    levels = label["levels"]
    if options.positive_class is None:
        return levels
    if options.positive_class not in levels:
        raise MrlearnError("--positive-class %r is not a class of %s (classes: %s)"
                           % (options.positive_class, path, ", ".join(levels[:10])))
    if len(levels) != 2:
        raise MrlearnError("--positive-class applies to two classes; %s has %d"
                           % (path, len(levels)))
    positive = levels.index(options.positive_class)
    label["levels"] = [levels[1 - positive], levels[positive]]
    return label["levels"]


def table_for_header(table, names, path):
    """The model's ``table`` re-aimed at a file whose header is ``names`` (its columns in
    any order, extra ones ignored; the label column may be absent)."""
    if names is None:
        return table
    by_name = {c["name"]: c for c in table["columns"] if c["role"] != "ignored"}
    missing = [n for n, c in by_name.items() if c["role"] == "feature" and n not in names]
    if missing:
        raise MrlearnError("%s lacks the model's column(s) %s (its header: %s)"
                           % (path, ", ".join(missing[:10]), ", ".join(names[:30])))
    columns = [by_name.get(n, {"name": n, "role": "ignored"}) for n in names]
    return dict(table, columns=columns, n_columns=len(names))
