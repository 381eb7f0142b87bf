"""The CLI as a user meets it: train/predict/evaluate, errors, bad rows, the demo."""
import gzip
import json
import os

import numpy as np
import pytest
from sklearn.metrics import r2_score, roc_auc_score

from conftest import run_cli, write_csv
from driver.model import load_model, to_sklearn


@pytest.fixture(scope="module")
def diabetes_model(diabetes, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("m") / "diabetes.json")
    assert run_cli("train", "--algo", "linear", "--input", diabetes[0], "--model", path, "-q") == 0
    return path


@pytest.fixture(scope="module")
def cancer_model(cancer, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("m") / "cancer.json")
    assert run_cli("train", "--algo", "logistic", "--l2", "1e-3", "--input", cancer[0],
                   "--model", path, "-q") == 0
    return path


def test_evaluate_reports_the_diabetes_r2(diabetes, diabetes_model, capsys):
    capsys.readouterr()
    assert run_cli("evaluate", "--model", diabetes_model, "--input", diabetes[0], "--json") == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["r2"] == pytest.approx(0.51775, abs=1e-5)
    _, X, y = diabetes
    pred = to_sklearn(load_model(diabetes_model)).predict(X)
    assert metrics["r2"] == pytest.approx(r2_score(y, pred), rel=1e-10)
    assert metrics["rmse"] == pytest.approx(np.sqrt(np.mean((pred - y) ** 2)), rel=1e-10)
    assert metrics["mae"] == pytest.approx(np.mean(np.abs(pred - y)), rel=1e-10)


def test_logistic_metrics_and_sklearn_export_agree(cancer, cancer_model, capsys):
    _, X, y = cancer
    capsys.readouterr()
    assert run_cli("evaluate", "--model", cancer_model, "--input", cancer[0], "--json") == 0
    metrics = json.loads(capsys.readouterr().out)
    est = to_sklearn(load_model(cancer_model))
    proba = est.predict_proba(X)[:, 1]
    assert metrics["accuracy"] == pytest.approx(np.mean(est.predict(X) == y), abs=1e-12)
    assert metrics["log_loss"] == pytest.approx(-np.mean(y * np.log(proba) + (1 - y) * np.log(1 - proba)), rel=1e-9)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, proba), abs=1e-3)


def _evaluate_auc(capsys, train_data, test_data, *train_options):
    """(mrlearn's ROC AUC on ``test_data``, scikit-learn's on the exported model's decision
    function, the margins); each data is (CSV path, X, y)."""
    model = os.path.join(os.path.dirname(train_data[0]), "auc-model.json")
    assert run_cli("train", "--algo", "logistic", "--input", train_data[0], "--model", model,
                   "-q", *train_options) == 0
    capsys.readouterr()
    assert run_cli("evaluate", "--model", model, "--input", test_data[0], "--json") == 0
    path, X, y = test_data
    z = to_sklearn(load_model(model)).decision_function(X)
    return json.loads(capsys.readouterr().out)["roc_auc"], roc_auc_score(y, z), z


def test_roc_auc_of_strongly_regularized_model_matches_sklearn(cancer, capsys):
    auc, expected, z = _evaluate_auc(capsys, cancer, cancer, "--l2", 1000)
    assert np.ptp(z) < 0.05 and expected > 0.98  # 10 of the old histogram's bins
    assert auc == pytest.approx(expected, abs=1e-3)


def test_roc_auc_of_huge_margins_matches_sklearn(cancer, tmp_path, capsys):
    _, X, y = cancer
    train = write_csv(tmp_path / "train.csv", y[:300], X[:300])
    test = write_csv(tmp_path / "test.csv", y[300:], X[300:])
    auc, expected, z = _evaluate_auc(capsys, (train, X[:300], y[:300]),
                                     (test, X[300:], y[300:]), "--l2", 0, "--max-iter", 30)
    assert np.median(np.abs(z)) > 100 and expected < 0.999  # separable train, not test
    assert auc == pytest.approx(expected, abs=1e-3)


def test_roc_auc_of_margins_near_the_intercept_matches_sklearn(cancer, tmp_path, capsys):
    _, X, y = cancer
    keep = (y == 1) | (np.cumsum(y == 0) <= 25)  # 357 positives, 25 negatives
    path = write_csv(tmp_path / "imbalanced.csv", y[keep], X[keep])
    data = (path, X[keep], y[keep])
    auc, expected, z = _evaluate_auc(capsys, data, data, "--l2", 1000)
    assert z.min() > 1.0 and z.max() - z.min() < 1e-2 * z.min()
    assert auc == pytest.approx(expected, abs=1e-3)


def test_predict_writes_one_line_per_row_matching_sklearn(cancer, cancer_model, tmp_path):
    _, X, y = cancer
    out = str(tmp_path / "pred")
    assert run_cli("predict", "--model", cancer_model, "--input", cancer[0], "--output", out) == 0
    parts = sorted(p for p in os.listdir(out) if p.startswith("part-"))
    rows = [line.split(",") for p in parts for line in open(os.path.join(out, p)).read().splitlines()]
    assert len(rows) == len(y)
    est = to_sklearn(load_model(cancer_model))
    np.testing.assert_array_equal([int(r[0]) for r in rows], est.predict(X))
    np.testing.assert_allclose([float(r[1]) for r in rows], est.predict_proba(X)[:, 1], rtol=1e-12)
    # refuses to overwrite what is there
    assert run_cli("predict", "--model", cancer_model, "--input", cancer[0], "--output", out) == 2


@pytest.fixture
def messy_csv(tmp_path, diabetes):
    """diabetes with a header, three bad rows (lines 5, 12 and 30) and gzip compression."""
    lines = open(diabetes[0]).read().splitlines()
    lines[3] = lines[3] + ",7"                     # file line 5 after the header
    fields = lines[10].split(",")
    lines[10] = ",".join(fields[:1] + ["abc"] + fields[2:])
    lines[28] = "nan," + lines[28].split(",", 1)[1]
    path = tmp_path / "messy.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("target," + ",".join("x%d" % i for i in range(10)) + "\n" + "\n".join(lines) + "\n")
    return str(path)


def test_bad_row_stops_with_file_and_line_and_keeps_the_old_model(messy_csv, tmp_path, capsys):
    model = tmp_path / "model.json"
    model.write_text("precious")
    code = run_cli("train", "--algo", "linear", "--input", messy_csv, "--model", str(model))
    err = capsys.readouterr().err
    assert code == 2
    assert "bad input in %s, line 5: expected 11 comma-separated fields, found 12" % messy_csv in err
    assert "3 malformed row(s)" in err and "--skip-bad-rows" in err
    assert "Traceback" not in err
    assert model.read_text() == "precious"


def test_skip_bad_rows_counts_them_and_trains_on_the_rest(messy_csv, diabetes, tmp_path):
    model = str(tmp_path / "model.json")
    assert run_cli("train", "--algo", "linear", "--input", messy_csv, "--model", model,
                   "--skip-bad-rows", "-q") == 0
    m = load_model(model)
    _, X, y = diabetes
    keep = np.ones(len(y), bool)
    keep[[3, 10, 28]] = False
    expected = np.linalg.lstsq(np.column_stack([X[keep], np.ones(keep.sum())]), y[keep], rcond=None)[0]
    assert m["bad_rows"] == 3 and m["n_rows"] == keep.sum()
    np.testing.assert_allclose(np.append(m["coef"], m["intercept"]), expected, rtol=1e-8)


def test_bad_row_in_a_later_split_is_located_on_the_local_file(tmp_path, capsys):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40000, 3))
    y = X @ [1.0, 2.0, 3.0]
    path = write_csv(tmp_path / "big.csv", y, X)
    lines = open(path).read().splitlines()
    lines[31234] = "1,2,oops,4"
    open(path, "w").write("\n".join(lines) + "\n")
    code = run_cli("evaluate", "--model", _write_linear_model(tmp_path, 3), "--input", path,
                   "--mappers", "4")
    assert code == 2
    assert "line 31235: field 3 is not a number: 'oops'" in capsys.readouterr().err


def _write_linear_model(tmp_path, d):
    path = tmp_path / "lin.json"
    path.write_text(json.dumps({"format": "mrlearn-model", "format_version": 1, "algo": "linear",
                                "loss": "squared", "coef": [1.0] * d, "intercept": 0.0,
                                "classes": None, "n_features": d, "n_passes": 0}))
    return str(path)


@pytest.mark.parametrize("argv,message", [
    (["train", "--algo", "linear", "--input", "/nonexistent/*.csv", "--model", "m.json"],
     "input /nonexistent/*.csv matches no file; check --input"),
    (["train", "--algo", "logistic", "--solver", "normal", "--input", "X", "--model", "m.json"],
     "--solver normal does not apply to logistic"),
    (["evaluate", "--model", "/nonexistent.json", "--input", "X"],
     "cannot read model file /nonexistent.json"),
])
def test_user_errors_are_one_clear_line(argv, message, capsys):
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err
    assert "mrlearn: error: " + message in err and "Traceback" not in err


def test_label_col_out_of_range(diabetes, capsys):
    assert run_cli("train", "--algo", "linear", "--input", diabetes[0], "--model", "m.json",
                   "--label-col", "11") == 2
    assert "--label-col 11 is outside the 11 columns" in capsys.readouterr().err


def test_demo_trains_and_evaluates_the_shipped_data(tmp_path, capsys):
    model = str(tmp_path / "demo.json")
    assert run_cli("demo", "--model", model) == 0
    out = capsys.readouterr()
    m = load_model(model)
    assert m["converged"] and m["n_passes"] <= 12 and m["n_rows"] == 455
    assert "pass   1  objective 0.6931471806" in out.err
    accuracy = float(next(l.split()[1] for l in out.out.splitlines() if l.startswith("accuracy")))
    assert accuracy > 0.9


# --- labels a classifier cannot have ---------------------------------------------------------

def _relabelled(tmp_path, cancer, name, changes, format="csv"):
    """The cancer rows with labels ``{row index: label}`` changed, as CSV or libsvm."""
    _, X, y = cancer
    y = y.copy()
    for i, label in changes.items():
        y[i] = label
    if format == "libsvm":
        from sklearn.datasets import dump_svmlight_file
        path = str(tmp_path / name)
        dump_svmlight_file(X, y, path, zero_based=False)
        return path
    return write_csv(tmp_path / name, y, X)


@pytest.mark.parametrize("format", ["csv", "libsvm"])
def test_evaluate_refuses_a_label_that_is_no_class_and_names_its_line(cancer, cancer_model,
                                                                      tmp_path, capsys, format):
    path = _relabelled(tmp_path, cancer, "three.data", {6: 2.0, 40: 2.0, 90: 0.5}, format)
    capsys.readouterr()
    assert run_cli("evaluate", "--model", cancer_model, "--input", path) == 2
    err = capsys.readouterr().err
    assert "%s, line 7: label 2: not a class of this model (0, 1)" % path in err
    assert "3 malformed row(s)" in err and "Traceback" not in err


def test_evaluate_skips_and_counts_rows_of_no_class(cancer, cancer_model, tmp_path, capsys):
    path = _relabelled(tmp_path, cancer, "three.csv", {6: 2.0, 40: 2.0})
    capsys.readouterr()
    assert run_cli("evaluate", "--model", cancer_model, "--input", path, "--json",
                   "--skip-bad-rows") == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["bad_rows"] == 2 and metrics["n_rows"] == len(cancer[2]) - 2


def test_classes_minus_one_one_evaluate_their_labels_and_refuse_zero(cancer, cancer_pm1,
                                                                     cancer_model, tmp_path,
                                                                     capsys):
    model = str(tmp_path / "pm1.json")
    assert run_cli("train", "--algo", "svm", "--input", cancer_pm1[0], "--model", model,
                   "-q") == 0
    assert load_model(model)["classes"] == [-1, 1]
    capsys.readouterr()
    assert run_cli("evaluate", "--model", model, "--input", cancer_pm1[0], "--json") == 0
    assert json.loads(capsys.readouterr().out)["bad_rows"] == 0
    assert run_cli("evaluate", "--model", cancer_model, "--input", cancer_pm1[0]) == 2
    first = int(np.flatnonzero(cancer_pm1[2] == -1)[0]) + 2  # after the header line
    assert "line %d: label -1: not a class of this model (0, 1)" % first in capsys.readouterr().err


def test_train_names_the_line_of_a_label_no_classifier_has(cancer, tmp_path, capsys):
    path = _relabelled(tmp_path, cancer, "half.csv", {12: 0.5})
    model = str(tmp_path / "m.json")
    capsys.readouterr()
    # sgd is binary only (newton, lbfgs and gd train a model of the classes found)
    assert run_cli("train", "--algo", "logistic", "--solver", "sgd", "--input", path,
                   "--model", model) == 2
    err = capsys.readouterr().err
    assert "%s, line 13: label 0.5: logistic needs labels 0/1 or -1/1" % path in err
    assert "Traceback" not in err and not os.path.exists(model)
    assert run_cli("train", "--algo", "logistic", "--solver", "sgd", "--input", path,
                   "--model", model, "--skip-bad-rows", "-q") == 0
    m = load_model(model)
    assert m["bad_rows"] == 1 and m["n_rows"] == len(cancer[2]) - 1 and m["classes"] == [0, 1]


def test_evaluate_names_the_packed_line_holding_a_label_of_no_class(cancer, cancer_model,
                                                                     tmp_path, capsys):
    path = _relabelled(tmp_path, cancer, "three.csv", {6: 2.0})
    out = str(tmp_path / "packed")
    assert run_cli("prepare", "--input", path, "--output", out, "--parts", "1") == 0
    capsys.readouterr()
    assert run_cli("evaluate", "--model", cancer_model, "--input", out) == 2
    err = capsys.readouterr().err
    assert "part-00000, line 1: label 2: not a class of this model (0, 1)" in err
    assert "Traceback" not in err
