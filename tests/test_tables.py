"""Tables as they are: CSV dialects, names, missing values, text columns and labels, against
Python's csv module, pandas and scikit-learn pipelines fitted on the same DataFrame."""
import csv
import json
import os

import numpy as np
import pandas as pd
import pytest
from palmerpenguins import load_penguins
from scipy.special import logsumexp
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from conftest import fit, run_cli
from driver.model import to_sklearn
from driver.table import detect_sep
from jobs.table import NA_VALUES, encode_block, merge_schema, schema_block, split_fields

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
TEXT = ["island", "sex"]


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    """palmerpenguins as ``DataFrame.to_csv`` writes it (strings, NA as empty fields)."""
    df = load_penguins()
    path = tmp_path_factory.mktemp("tables") / "penguins.csv"
    df.to_csv(path, index=False)
    return str(path), df


def sklearn_encoder(df, numeric, text, drop=None):
    """SimpleImputer(mean) on ``numeric`` and OneHotEncoder on ``text`` (levels sorted,
    NaN last, unseen -> zeros), fitted on ``df``."""
    return ColumnTransformer([
        ("num", SimpleImputer(strategy="mean"), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", drop=drop, sparse_output=False), text)])


# --- tokenizing and the schema ------------------------------------------------------------

def test_fields_follow_rfc_4180_like_the_csv_module():
    lines = ['1,"a, b",x', '"say ""hi""", 2 ,', ' 3 ,"",""""', "", "4,5,6"]
    expected = [[f.strip() for f in row] for row in csv.reader(lines) if row]
    assert [row for row in split_fields(lines, ",") if row] == expected
    assert split_fields(["a\tb c\t1"], "\t") == [["a", "b c", "1"]]
    assert split_fields([""], ",") == [[]]


@pytest.mark.parametrize("sep", [",", "\t", ";", "|"])
def test_separator_is_detected(sep):
    lines = [sep.join(["name", "value, with comma" if sep != "," else "value", "z"]),
             sep.join(["a", "1.5", "x"]), sep.join(["b", "", "y"])]
    assert detect_sep(lines) == sep


def test_schema_counts_missing_numbers_and_levels_and_merges_in_any_split():
    lines = ["1,a,NA", "2,b,x", ",a,?", "4,a,null", "5,c,y", "six,a,x", "7,a"]
    table = {"sep": ",", "na_values": list(NA_VALUES), "n_columns": 3, "categorical": [0]}
    whole, n, bad = schema_block(lines, table)
    assert n == 6 and bad == [(6, "expected 3 fields, found 2 (check --sep and the quoting)")]
    assert whole[0] == {"missing": 1, "numbers": 0, "sum": 0.0,
                        "levels": {"1": 1, "2": 1, "4": 1, "5": 1, "six": 1}}
    assert whole[1]["levels"] == {"a": 4, "b": 1, "c": 1} and whole[1]["numbers"] == 0
    assert whole[2]["missing"] == 3 and whole[2]["levels"] == {"x": 2, "y": 1}
    parts = [schema_block(lines[i:i + 2], table)[0] for i in range(0, 7, 2)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merge_schema(merged, part)
    assert [{k: v for k, v in c.items() if k != "overflow"} for c in merged] == whole


def test_encode_imputes_one_hot_encodes_and_names_bad_rows():
    table = {"sep": ";", "na_values": ["", "NA"], "n_columns": 4, "n_features": 3,
             "columns": [{"name": "n", "role": "feature", "type": "numeric", "mean": 2.5,
                          "offset": 0},
                         {"name": "c", "role": "feature", "type": "categorical",
                          "levels": ["a", "b", None], "drop_first": True, "offset": 1},
                         {"name": "id", "role": "ignored"},
                         {"name": "y", "role": "label", "type": "categorical",
                          "levels": ["no", "yes"]}]}
    lines = ["1;a;7;yes", "NA;b;8;no", "3;;9;yes", "4;zzz;1;no", "x;a;1;no", "5;b;1;maybe",
             "6;a;1;NA", "7;a;1"]
    X, y, w, bad, missing_labels, rows = encode_block(lines, table)
    np.testing.assert_array_equal(X, [[1, 0, 0], [2.5, 1, 0], [3, 0, 1], [4, 0, 0]])
    np.testing.assert_array_equal(y, [1, 0, 1, 0])
    assert w is None and missing_labels == 1 and rows.tolist() == [0, 1, 2, 3]
    assert [i for i, _ in bad] == [4, 5, 7]
    assert "column 'n': 'x' is not a number" in bad[0][1]
    assert "label 'maybe' was not seen in training" in bad[1][1]


# --- real tables against scikit-learn -------------------------------------------------------

def test_penguins_multinomial_equals_the_sklearn_pipeline(penguins, tmp_path):
    """Text features with NA, a text label: objective to 1e-8 of LogisticRegression on
    SimpleImputer + OneHotEncoder of the same DataFrame; same predictions."""
    path, df = penguins
    l2 = 0.01
    model = fit("logistic", path, table={"label": "species"}, l2=l2)
    assert model["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert model["n_rows"] == 344 and model["schema_passes"] == 1
    encoder = sklearn_encoder(df, NUMERIC, TEXT)
    Z = encoder.fit_transform(df)
    n = len(df)
    sk = LogisticRegression(C=1 / (n * l2), tol=1e-12, solver="newton-cholesky").fit(
        Z, df["species"])  # lbfgs stops at 0.0340012 here: year and body mass are badly scaled
    S = Z @ sk.coef_.T + sk.intercept_
    k = np.searchsorted(sk.classes_, df["species"])
    objective = (logsumexp(S, axis=1) - S[np.arange(n), k]).mean() + 0.5 * l2 * np.sum(
        sk.coef_ ** 2)
    assert model["objective"] == pytest.approx(objective, rel=1e-8)
    names = list(encoder.get_feature_names_out())
    ours = {name: model["coef"][1][j] for j, name in enumerate(model["feature_names"])}
    for name, value in zip(names, sk.coef_[1]):
        kind, _, rest = name.partition("__")
        column, _, level = rest.partition("_")
        key = rest if kind == "num" else "%s=%s" % (column, "(missing)" if level == "nan"
                                                    else level)
        assert ours[key] == pytest.approx(value, rel=1e-4, abs=1e-6)
    exported = to_sklearn(model)
    raw = pd.read_csv(path)
    np.testing.assert_allclose(exported.predict_proba(raw), sk.predict_proba(Z), atol=1e-6)
    out = tmp_path / "pred"
    model_path = tmp_path / "m.json"
    with open(model_path, "w") as f:
        json.dump(model, f)
    assert run_cli("predict", "--model", str(model_path), "--input", path,
                   "--output", str(out)) == 0
    lines = open(out / "part-00000").read().split()
    assert len(lines) == 344
    assert [line.split(",")[0] for line in lines] == list(sk.predict(Z))
    ours = [[float(v) for v in line.split(",")[1:]] for line in lines]
    np.testing.assert_allclose(ours, sk.predict_proba(Z), atol=1e-6)
    np.testing.assert_allclose(ours, exported.predict_proba(raw), rtol=1e-12, atol=1e-15)


def test_penguins_least_squares_drops_a_reference_level_and_skips_missing_labels(penguins):
    """Unpenalized: OneHotEncoder(drop='first'); rows without body mass are skipped and
    counted, and the imputation means are those of the rows read (all 344)."""
    path, df = penguins
    model = fit("linear", path, table={"label": "body_mass_g"})
    kept = df[df["body_mass_g"].notna()]
    numeric = [c for c in NUMERIC if c != "body_mass_g"]
    imputer = SimpleImputer(strategy="mean").fit(df[numeric])  # means over every row read
    text = ["species"] + TEXT
    onehot = OneHotEncoder(drop="first", sparse_output=False).fit(df[text])
    Z = np.hstack([imputer.transform(kept[numeric]), onehot.transform(kept[text])])
    sk = LinearRegression().fit(Z, kept["body_mass_g"])
    assert model["n_rows"] == 342 and model["missing_labels"] == 2
    names = list(numeric) + ["%s=%s" % (c, "(missing)" if pd.isna(v) else v)
                             for c, levels in zip(text, onehot.categories_) for v in levels[1:]]
    ours = dict(zip(model["feature_names"], model["coef"]))
    assert sorted(ours) == sorted(names)
    np.testing.assert_allclose([ours[n] for n in names], sk.coef_, rtol=1e-8)
    assert model["intercept"] == pytest.approx(sk.intercept_, rel=1e-9)


def test_vega_cars_ridge_equals_the_sklearn_pipeline(tmp_path):
    """vega_datasets' local cars as to_csv writes it: car names (300 levels), dates as text,
    missing horsepower and labels; Ridge(alpha = n l2) on the same encoding."""
    from sklearn.linear_model import Ridge
    from vega_datasets import data
    df = data.cars()
    path = tmp_path / "cars.csv"
    df.to_csv(path, index=False)
    raw = pd.read_csv(path)  # the dates as the text they are in the file
    l2 = 1e-3
    model = fit("linear", str(path), table={"label": "Miles_per_Gallon"}, l2=l2)
    kept = raw[raw["Miles_per_Gallon"].notna()]
    numeric = ["Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration"]
    text = ["Name", "Year", "Origin"]
    encoder = sklearn_encoder(raw, numeric, text).fit(raw)
    sk = Ridge(alpha=len(kept) * l2, tol=1e-12).fit(encoder.transform(kept),
                                                    kept["Miles_per_Gallon"])
    assert model["n_rows"] == len(kept) == 398 and model["missing_labels"] == 8
    assert model["n_features"] == len(sk.coef_)
    exported = to_sklearn(model)
    np.testing.assert_allclose(exported.predict(raw), sk.predict(encoder.transform(raw)),
                               rtol=1e-8)
    residual = sk.predict(encoder.transform(kept)) - kept["Miles_per_Gallon"]
    objective = 0.5 * np.mean(residual ** 2) + 0.5 * l2 * np.sum(sk.coef_ ** 2)
    assert model["objective"] == pytest.approx(objective, rel=1e-8)


def test_binary_text_labels_and_positive_class(penguins, tmp_path):
    path, df = penguins
    default = fit("logistic", path, table={"label": "sex"}, l2=0.01)
    assert default["classes"] == ["female", "male"] and default["n_rows"] == 333
    flipped = fit("logistic", path, table={"label": "sex", "positive_class": "female"},
                  l2=0.01)
    assert flipped["classes"] == ["male", "female"]
    np.testing.assert_allclose(flipped["coef"], -np.asarray(default["coef"]), rtol=1e-8,
                               atol=1e-10)


def test_predict_finds_columns_by_name_in_any_order(penguins, tmp_path):
    path, df = penguins
    model = fit("svm", path, table={"label": "species"}, l2=0.01)
    model_path = tmp_path / "m.json"
    model_path.write_text(json.dumps(model))
    shuffled = tmp_path / "shuffled.csv"
    df[["year", "sex"] + NUMERIC[:4] + ["island"]].assign(extra="z").to_csv(
        shuffled, index=False, sep=";")
    for source, out in ((path, "a"), (str(shuffled), "b")):
        assert run_cli("predict", "--model", str(model_path), "--input", source,
                       "--output", str(tmp_path / out)) == 0
    assert (open(tmp_path / "a" / "part-00000").read()
            == open(tmp_path / "b" / "part-00000").read())


# --- a table built to hurt -----------------------------------------------------------------

def nasty_table(rng, n, sep, ids_from=0):
    """Quoted commas and quotes, every NA spelling, a column of more than 10 000 levels."""
    na = list(NA_VALUES)
    city = rng.choice(['"Paris, TX"', '"The ""Big"" Apple"', "Oslo", "NA", "?"], n)
    x = rng.normal(size=n)
    xs = np.where(rng.random(n) < 0.1, rng.choice(na, n), np.char.mod("%.6f", x))
    y = np.where(x + (city == "Oslo") + rng.normal(size=n) > 0.5, "yes", "no")
    ident = np.char.add("id", (np.arange(n) + ids_from).astype(str))
    header = sep.join(["city", "x", "ident", "answer"])
    return [header] + [sep.join(row) for row in zip(city, xs, ident, y)]


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_nasty_table_trains_and_predicts_a_line_per_row(sep, tmp_path):
    rng = np.random.default_rng(0)
    train_path = tmp_path / "train.csv"
    train_path.write_text("\n".join(nasty_table(rng, 12000, sep)) + "\n")
    model_path = tmp_path / "m.json"
    assert run_cli("train", "--algo", "logistic", "--input", str(train_path), "--label",
                   "answer", "--model", str(model_path), "--l2", "1e-3", "-q") == 0
    model = json.loads(model_path.read_text())
    ident = next(c for c in model["table"]["columns"] if c["name"] == "ident")
    assert len(ident["levels"]) == 1000 and not ident["drop_first"]  # the most frequent
    assert model["n_rows"] == 12000
    new = tmp_path / "new.csv"  # unseen identifiers and a city never seen
    lines = nasty_table(np.random.default_rng(1), 500, sep, ids_from=10 ** 6)
    new.write_text("\n".join(lines + [sep.join(['"Nowhere, XX"', "0.5", "idX", "maybe"])])
                   + "\n")  # a city, an identifier and a label never seen
    assert run_cli("predict", "--model", str(model_path), "--input", str(new),
                   "--output", str(tmp_path / "p")) == 0
    predicted = open(tmp_path / "p" / "part-00000").read().split()
    assert len(predicted) == 501 and {p.split(",")[0] for p in predicted} <= {"no", "yes"}
    raw = pd.read_csv(new, sep=sep, na_values=["?"])  # pandas' defaults hold the others
    exported = to_sklearn(model)
    np.testing.assert_allclose([float(p.split(",")[1]) for p in predicted],
                               exported.predict_proba(raw)[:, 1], rtol=1e-12)
    assert [p.split(",")[0] for p in predicted] == list(exported.predict(raw))


def test_kmeans_on_a_table(penguins):
    path, _ = penguins
    model = fit("kmeans", path, label_col=None, k=3, table={"ignore": ["species"]})
    assert len(model["cluster_centers"][0]) == model["n_features"] == 11
    assert model["n_rows"] == 344


# --- misuse -------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--label", "nope"], "--label 'nope' is not a column of the input; its columns: species"),
    (["--label", "species", "--features", "bill,island"], "--features 'bill' is not a column"),
    (["--label", "species", "--sep", "x"], "--sep must be one of"),
    (["--label", "species", "--positive-class", "Adelie"], "--positive-class applies to two"),
    (["--label", "sex", "--positive-class", "other"], "--positive-class 'other' is not a class"),
    (["--label", "species", "--label-col", "1"], "give --label or --label-col, not both"),
    (["--label", "species", "--weight-col", "nope"], "--weight-col 'nope' is not a column"),
    (["--label", "species", "--na", "drop"], "argument --na: invalid choice: 'drop' (choose from"),
    (["--label", "species", "--categorical", "bill"], "--categorical 'bill' is not a column"),
    (["--label", "species", "--ignore", "island,sex,bill_length_mm,bill_depth_mm,"
      "flipper_length_mm,body_mass_g,year"], "no feature column is left"),
])
def test_table_misuse_is_one_line_before_any_model(penguins, tmp_path, capsys, args, message):
    path, _ = penguins
    model = tmp_path / "m.json"
    try:
        code = run_cli("train", "--algo", "logistic", "--input", path, "--model", str(model),
                       *args)
    except SystemExit as e:  # argparse
        code = e.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not model.exists()


def test_text_label_for_regression_is_refused_and_stray_text_makes_bad_rows(penguins,
                                                                             tmp_path, capsys):
    path, df = penguins
    assert run_cli("train", "--algo", "linear", "--input", path, "--label", "species",
                   "--model", str(tmp_path / "m.json")) == 2
    assert "linear regression needs a numeric label; the label of %s holds text (Adelie" % path \
        in capsys.readouterr().err
    mixed = tmp_path / "mixed.csv"
    df.assign(year=df["year"].astype(str).where(df.index % 50 > 0, "n/a")).to_csv(mixed,
                                                                                   index=False)
    assert run_cli("train", "--algo", "logistic", "--input", str(mixed), "--label", "species",
                   "--model", str(tmp_path / "m.json")) == 2
    err = capsys.readouterr().err
    assert "line 2: column 'year': 'n/a' is not a number (if it means missing, add it to " \
        "--na-values)" in err and "7 malformed row(s)" in err
    assert run_cli("train", "--algo", "logistic", "--input", str(mixed), "--label", "species",
                   "--na-values", ",NA,n/a", "--model", str(tmp_path / "m.json"), "-q") == 0


def test_quoted_numbers_train_like_plain_ones(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((50, 2))
    y = (X[:, 0] > 0).astype(int)
    plain, quoted = tmp_path / "plain.csv", tmp_path / "quoted.csv"
    pd.DataFrame({"y": y, "a": X[:, 0], "b": X[:, 1]}).to_csv(plain, index=False)
    pd.DataFrame({"y": y, "a": X[:, 0], "b": X[:, 1]}).to_csv(quoted, index=False,
                                                             quoting=csv.QUOTE_ALL)
    one, two = (fit("logistic", str(p), l2=0.1) for p in (plain, quoted))
    assert "table" not in one and two["feature_names"] == ["a", "b"]
    assert two["objective"] == pytest.approx(one["objective"], rel=1e-12)
    np.testing.assert_allclose(two["coef"], one["coef"], rtol=1e-10)


def test_missing_indicator_equals_simple_imputers_add_indicator(penguins):
    path, df = penguins
    model = fit("logistic", path, table={"label": "sex", "missing_indicator": True,
                                         "ignore": ["species", "island", "year"]}, l2=0.01)
    numeric = NUMERIC[:4]
    assert model["feature_names"] == [x for c in numeric for x in (c, c + "=(missing)")]
    kept = df[df["sex"].notna()]
    imputer = SimpleImputer(strategy="mean", add_indicator=True).fit(df[numeric])
    Z = imputer.transform(kept[numeric])
    sk = LogisticRegression(C=1 / (len(kept) * 0.01), tol=1e-12, solver="newton-cholesky").fit(
        Z, kept["sex"])
    order = [0, 2, 4, 6, 1, 3, 5, 7]  # ours: value, indicator per column; sklearn: values first
    np.testing.assert_allclose(np.asarray(model["coef"])[order], sk.coef_[0], rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(to_sklearn(model).predict_proba(kept), sk.predict_proba(Z),
                               rtol=1e-9)


def test_partition_refuses_tables_in_one_line(penguins, tmp_path, capsys):
    path, _ = penguins
    out = tmp_path / "out"
    assert run_cli("partition", "--parts", "2", "--by", "hash", "--input", path,
                   "--output", str(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a table with text, quoted or missing values" in err[0]
    assert not out.exists()


def assert_same_table(a, b):
    """Equal encodings, the imputation means to rounding (sums add in split order)."""
    a, b = json.loads(json.dumps(a)), json.loads(json.dumps(b))
    means = [[c.pop("mean", None) for c in t["columns"]] for t in (a, b)]
    assert a == b
    np.testing.assert_allclose(*[[m or 0.0 for m in ms] for ms in means], rtol=1e-13)


@pytest.mark.local_runner
def test_local_runner_gives_the_inline_model_on_a_table(tmp_path):
    """Splits of a table on 4 local mappers: the same encoding and model as one inline."""
    path = tmp_path / "table.csv"
    path.write_text("\n".join(nasty_table(np.random.default_rng(2), 3000, ";")) + "\n")
    options = dict(table={"label": "answer", "max_levels": 50}, l2=1e-3)
    local = fit("logistic", str(path), runner="local", mappers=4, **options)
    inline = fit("logistic", str(path), **options)
    assert_same_table(local["table"], inline["table"])
    assert local["n_passes"] == inline["n_passes"]
    np.testing.assert_allclose(local["coef"], inline["coef"], rtol=1e-9, atol=1e-12)


def test_na_error_makes_missing_feature_values_bad_rows(penguins, tmp_path, capsys):
    path, df = penguins
    model = tmp_path / "m.json"
    argv = ["train", "--algo", "logistic", "--input", path, "--label", "species", "--model",
            str(model), "--na", "error", "-q"]
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err
    assert "line 5: column 'bill_length_mm': '' is a missing value (--na error)" in err
    assert run_cli(*argv, "--skip-bad-rows", "--max-bad-fraction", "0.1") == 0
    assert json.loads(model.read_text())["bad_rows"] == int(df.drop(columns="species")
                                                          .isna().any(axis=1).sum())


def test_weight_column_by_name_equals_by_number_and_weighs_evaluate(penguins, tmp_path,
                                                                    capsys):
    path, df = penguins
    weighted = tmp_path / "weighted.csv"
    df.assign(w=np.arange(len(df)) % 3 + 0.5).to_csv(weighted, index=False)
    options = dict(table={"label": "species"}, l2=0.01)
    by_name = fit("logistic", str(weighted), weight_col="w", **options)
    by_number = fit("logistic", str(weighted), weight_col=8, **options)
    assert "w" not in by_name["feature_names"] and by_name["weight_sum"] == by_number["weight_sum"]
    np.testing.assert_allclose(by_name["coef"], by_number["coef"], rtol=1e-12)
    model_path = tmp_path / "m.json"
    model_path.write_text(json.dumps(by_name))
    raw = pd.read_csv(weighted)
    probabilities = to_sklearn(by_name).predict_proba(raw)
    for argv, w in (([], None), (["--weight-col", "w"], raw["w"])):
        capsys.readouterr()
        assert run_cli("evaluate", "--model", str(model_path), "--input", str(weighted),
                       "--json", *argv) == 0
        metrics = json.loads(capsys.readouterr().out)
        assert metrics["log_loss"] == pytest.approx(
            log_loss(raw["species"], probabilities, sample_weight=w), rel=1e-9)


def test_hash_categorical_hashes_wide_text_columns_like_the_exported_pipeline(tmp_path,
                                                                             monkeypatch):
    """Columns beyond --max-levels (or the schema's cap) hash, signed, into 2^B shared
    columns; predictions equal the exported pipeline's on unseen identifiers."""
    import zlib

    import jobs.table
    from jobs.table import hash_values
    index, sign = hash_values("ident", np.array(["id7", ""]), np.array([False, True]), 8)
    assert index[0] == zlib.crc32(b"ident=id7") % 256
    assert sign[0] == (1 if zlib.crc32(b"ident=id7", 1) < 2 ** 31 else -1)
    assert index[1] == zlib.crc32(b"ident=\x00missing") % 256
    path = tmp_path / "train.csv"
    path.write_text("\n".join(nasty_table(np.random.default_rng(0), 3000, ",")) + "\n")
    monkeypatch.setattr(jobs.table, "LEVELS_CAP", 2000)  # ident's 3000 levels overflow
    model_path = tmp_path / "m.json"
    argv = ["train", "--algo", "logistic", "--input", str(path), "--label", "answer",
            "--model", str(model_path), "--l2", "1e-3", "-q"]
    assert run_cli(*argv) == 2 and not model_path.exists()
    assert run_cli(*argv, "--hash-categorical", "6") == 0
    model = json.loads(model_path.read_text())
    ident = next(c for c in model["table"]["columns"] if c["name"] == "ident")
    assert ident["type"] == "hashed" and model["n_features"] == 4 + 1 + 64
    new = tmp_path / "new.csv"
    new.write_text("\n".join(nasty_table(np.random.default_rng(1), 300, ",", ids_from=10 ** 6))
                   + "\n")
    assert run_cli("predict", "--model", str(model_path), "--input", str(new),
                   "--output", str(tmp_path / "p")) == 0
    predicted = open(tmp_path / "p" / "part-00000").read().split()
    raw = pd.read_csv(new, na_values=["?"])
    np.testing.assert_allclose([float(p.split(",")[1]) for p in predicted],
                               to_sklearn(model).predict_proba(raw)[:, 1], rtol=1e-12)


@pytest.mark.parametrize("algo, label, l2", [("logistic", "species", 0.01),
                                             ("linear", "body_mass_g", 0.0),
                                             ("logistic", "sex", 0.0)])
def test_prepared_table_trains_the_model_of_the_raw_table(algo, label, l2, penguins, tmp_path):
    """prepare encodes once (every level its column); a fit on the packed blocks drops the
    reference levels it needs to and ends with the raw table's model and encoding."""
    path, df = penguins
    out = tmp_path / "prepared"
    assert run_cli("prepare", "--input", path, "--output", str(out), "--label", label,
                   "--parts", "2") == 0
    raw = fit(algo, path, table={"label": label}, l2=l2, tol=1e-12)
    packed = fit(algo, str(out), l2=l2, tol=1e-12)
    assert packed["classes"] == raw["classes"] and packed["n_rows"] == raw["n_rows"]
    assert packed["feature_names"] == raw["feature_names"]
    assert_same_table(packed["table"], raw["table"])
    np.testing.assert_allclose(packed["coef"], raw["coef"], rtol=1e-9, atol=1e-12)
    model_path = tmp_path / "m.json"
    model_path.write_text(json.dumps(packed))
    assert run_cli("predict", "--model", str(model_path), "--input", path,
                   "--output", str(tmp_path / "p")) == 0
    assert len(open(tmp_path / "p" / "part-00000").read().split()) == len(df)


def test_class_weights_by_class_name_equal_sklearn_class_weight(penguins):
    """--class-weight names the classes of a text label as they are written."""
    path, df = penguins
    weights = {"Adelie": 2.0, "Gentoo": 0.5}
    l2 = 0.01
    model = fit("logistic", path, table={"label": "species"}, l2=l2, class_weight=weights)
    Z = sklearn_encoder(df, NUMERIC, TEXT).fit_transform(df)
    w = df["species"].map(lambda c: weights.get(c, 1.0)).to_numpy()
    sk = LogisticRegression(C=1 / (w.sum() * l2), tol=1e-12, solver="newton-cholesky",
                            class_weight=weights).fit(Z, df["species"])
    exported = to_sklearn(model)
    np.testing.assert_allclose(exported.predict_proba(pd.read_csv(path)), sk.predict_proba(Z),
                               atol=1e-6)


@pytest.mark.parametrize("weights, message", [
    ('{"Adelie": 2, "Emperor": 1}', "--class-weight names Emperor, not a class of {path} "
                                    "(classes: Adelie, Chinstrap, Gentoo)"),
])
def test_class_weight_names_are_checked_before_any_pass(penguins, tmp_path, capsys, weights,
                                                        message):
    path = penguins[0]
    model = tmp_path / "m.json"
    assert run_cli("train", "--algo", "logistic", "--input", path, "--label", "species",
                   "--model", model, "--class-weight", weights, "-q") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message.format(path=path) in err[0], err
    assert not model.exists()


def test_class_weight_text_names_on_numeric_labels_are_refused(cancer, tmp_path, capsys):
    model = tmp_path / "m.json"
    assert run_cli("train", "--algo", "logistic", "--input", cancer[0], "--model", model,
                   "--class-weight", '{"yes": 2}', "-q") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--class-weight names yes, but the labels of" in err[0], err
    assert not model.exists()
