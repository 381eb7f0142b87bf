"""Data layer: hdfs_utils on local paths and S3 (moto), partition, prepare, bad-input policy."""
import bz2
import collections
import gzip
import json
import os

import boto3
import numpy as np
import pytest
from moto import mock_aws
from sklearn.linear_model import LogisticRegression

import hdfs_utils
from conftest import fit, run_cli, theta_of, write_csv
from driver.inputs import STATS_FILE
from driver.passes import Runner
from driver.partition import partition
from driver.prepare import prepare

BUCKET = "mrlearn-test"


def part_files(directory):
    return sorted(p for p in os.listdir(directory) if p.startswith("part-"))


def rows_of(directory):
    return [line for p in part_files(directory)
            for line in open(os.path.join(directory, p)).read().splitlines()]


# --- hdfs_utils --------------------------------------------------------------------------------

@pytest.fixture
def s3():
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield "s3://%s" % BUCKET


@pytest.mark.parametrize("where", ["local", "s3"])
def test_file_api_round_trips(where, tmp_path, request):
    base = str(tmp_path) if where == "local" else request.getfixturevalue("s3")
    path = base + "/dir/a.json"
    hdfs_utils.mkdir(base + "/dir")
    hdfs_utils.write_text(path, "first")
    hdfs_utils.write_text(path, "second")
    assert hdfs_utils.read_text(path) == "second"
    assert hdfs_utils.exists(path) and not hdfs_utils.exists(base + "/dir/missing")
    local = tmp_path / "src.csv"
    local.write_text("1,2\n3,4\n")
    hdfs_utils.put(str(local), base + "/dir/b.csv")
    assert hdfs_utils.size(base + "/dir/b.csv") == 8
    assert [p.rsplit("/", 1)[1] for p in hdfs_utils.ls(base + "/dir")] == ["a.json", "b.csv"]
    assert [p.rsplit("/", 1)[1] for p in hdfs_utils.expand([base + "/dir/*.csv"])] == ["b.csv"]
    assert hdfs_utils.head_lines(base + "/dir/b.csv", 1) == ["1,2"]
    hdfs_utils.get(base + "/dir/b.csv", str(tmp_path / "back.csv"))
    assert (tmp_path / "back.csv").read_text() == "1,2\n3,4\n"
    hdfs_utils.remove(base + "/dir/b.csv")
    assert not hdfs_utils.exists(base + "/dir/b.csv")
    with pytest.raises(FileNotFoundError):
        hdfs_utils.read_text(base + "/dir/b.csv")
    if where == "local":
        assert sorted(os.listdir(tmp_path / "dir")) == ["a.json"]  # no temp files left


def test_model_and_checkpoints_may_live_on_s3(s3, cancer):
    model, ckpt = s3 + "/models/m.json", s3 + "/ckpt"
    assert run_cli("train", "--algo", "logistic", "--l2", "1e-3", "--input", cancer[0],
                   "--model", model, "--checkpoint-dir", ckpt, "-q") == 0
    saved = json.loads(hdfs_utils.read_text(model))
    assert saved["converged"] and saved["n_passes"] <= 10
    state = json.loads(hdfs_utils.read_text(ckpt + "/checkpoint.json"))
    assert len(state["history"]) == saved["n_passes"]
    assert run_cli("train", "--algo", "logistic", "--l2", "1e-3", "--input", cancer[0],
                   "--model", model, "--checkpoint-dir", ckpt, "--resume", "-q") == 0
    assert json.loads(hdfs_utils.read_text(model))["coef"] == saved["coef"]


# --- partition -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def skewed_csv(tmp_path_factory):
    rng = np.random.default_rng(11)
    key = np.where(rng.random(6000) < 0.3, 7.0, np.round(rng.exponential(3.0, 6000), 1))
    path = tmp_path_factory.mktemp("part") / "skewed.csv"
    return write_csv(path, key, rng.standard_normal((6000, 2)))


@pytest.mark.parametrize("by", ["hash", "range", "random"])
def test_partition_conserves_rows_in_exactly_n_files(skewed_csv, tmp_path, by):
    out = str(tmp_path / "out")
    with Runner("inline", mappers=3) as runner:
        summary = partition([skewed_csv], out, 5, by, runner, key_col=0, seed=3)
    assert part_files(out) == ["part-%05d" % i for i in range(5)]
    original = open(skewed_csv).read().splitlines()
    assert collections.Counter(rows_of(out)) == collections.Counter(original)
    assert summary["n"] == len(original)


def test_range_parts_are_ordered_and_balanced_on_a_heavy_key(skewed_csv, tmp_path):
    out = str(tmp_path / "out")
    with Runner("inline", mappers=2) as runner:
        partition([skewed_csv], out, 4, "range", runner, key_col=0, seed=1)
    keys = [[float(l.split(",")[0]) for l in open(os.path.join(out, p))] for p in part_files(out)]
    n = sum(map(len, keys))
    assert all(abs(len(k) - n / 4) <= 0.2 * n / 4 for k in keys), list(map(len, keys))
    assert all(max(a) <= min(b) for a, b in zip(keys, keys[1:]))


def test_hash_partition_is_a_function_of_the_key(skewed_csv, tmp_path):
    out = str(tmp_path / "out")
    with Runner("inline", mappers=2) as runner:
        partition([skewed_csv], out, 3, "hash", runner, key_col=0)
    owners = {}
    for part in part_files(out):
        for line in open(os.path.join(out, part)):
            assert owners.setdefault(line.split(",")[0], part) == part


# --- prepare and packed input --------------------------------------------------------------------

def test_prepare_writes_packed_parts_and_exact_column_statistics(cancer, tmp_path):
    path, X, y = cancer
    out = str(tmp_path / "packed")
    with Runner("inline", mappers=3) as runner:
        stats = prepare([path], out, runner, parts=2)
    assert part_files(out) == ["part-00000", "part-00001"]
    assert all(line.startswith("MRLP1,") for line in rows_of(out))
    on_disk = json.load(open(os.path.join(out, STATS_FILE)))
    assert on_disk == json.loads(json.dumps(stats)) and on_disk["rows"] == len(y)
    full = np.column_stack([y, X])
    np.testing.assert_allclose(on_disk["columns"]["mean"], full.mean(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(on_disk["columns"]["variance"], full.var(axis=0), rtol=1e-10)
    np.testing.assert_array_equal(on_disk["columns"]["min"], full.min(axis=0))
    np.testing.assert_array_equal(on_disk["columns"]["max"], full.max(axis=0))


def test_training_on_packed_input_equals_training_on_csv(cancer, tmp_path):
    out = str(tmp_path / "packed")
    with Runner("inline") as runner:
        prepare([cancer[0]], out, runner)
    packed = fit("logistic", out, l2=1e-3)
    csv = fit("logistic", cancer[0], l2=1e-3)
    np.testing.assert_allclose(theta_of(packed), theta_of(csv), rtol=1e-10)
    model = str(tmp_path / "m.json")
    json.dump(packed, open(model, "w"))
    assert run_cli("predict", "--model", model, "--input", out, "--output", str(tmp_path / "p")) == 0
    assert len(rows_of(str(tmp_path / "p"))) == len(cancer[2])


def test_standardize_reports_coefficients_in_original_units(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((800, 3)) * [1.0, 100.0, 0.01] + [5.0, -300.0, 2.0]
    y = (X @ [1.0, 0.01, 50.0] + rng.standard_normal(800) > X.mean(0) @ [1.0, 0.01, 50.0]).astype(float)
    raw = write_csv(tmp_path / "raw.csv", y, X)
    out = str(tmp_path / "packed")
    with Runner("inline") as runner:
        prepare([raw], out, runner)
    model = fit("logistic", out, l2=1e-2, standardize=True, tol=1e-15)
    mean, std = X.mean(axis=0), X.std(axis=0)
    sk = LogisticRegression(C=1 / (1e-2 * 800), solver="newton-cg", tol=1e-12,
                            max_iter=10000).fit((X - mean) / std, y)
    np.testing.assert_allclose(model["coef"], sk.coef_[0] / std, rtol=1e-6)
    assert model["intercept"] == pytest.approx(sk.intercept_[0] - (sk.coef_[0] / std) @ mean, rel=1e-6)


def test_standardize_needs_prepared_input(cancer, capsys):
    assert run_cli("train", "--algo", "logistic", "--input", cancer[0], "--model", "m.json",
                   "--standardize") == 2
    assert "needs input written by `mrlearn prepare`" in capsys.readouterr().err


# --- bad input policy: one test per kind ---------------------------------------------------------

def _csv(tmp_path, name, text, compress=None):
    path = tmp_path / name
    data = text.encode("utf-8")
    if compress == "gz":
        data = gzip.compress(data)
    elif compress == "bz2":
        data = bz2.compress(data)
    path.write_bytes(data)
    return str(path)


GOOD = "".join("%d,%g,%g\n" % (i % 2, i * 0.5, (i % 7) - 3.0) for i in range(40))


def _train(path, tmp_path, *extra):
    model = tmp_path / "model.json"
    model.write_text("precious")
    code = run_cli("train", "--algo", "logistic", "--l2", "0.1", "--input", path,
                   "--model", str(model), "-q", *extra)
    return code, model


@pytest.mark.parametrize("kind,text,message", [
    ("non-numeric", GOOD + "1,abc,2\n", "line 41: field 2 is not a number: 'abc'"),
    ("column count", GOOD + "1,2\n", "line 41: expected 3 comma-separated fields, found 2"),
    ("nan", GOOD + "0,nan,1\n", "line 41: field 2 is nan"),
    ("inf", GOOD + "0,1,-inf\n", "line 41: field 3 is -inf"),
    ("undeclared header", "y,a,b\n" + GOOD, "line 1: no field is a number: a header line?"),
])
def test_bad_rows_stop_the_run_naming_file_and_line(kind, text, message, tmp_path, capsys):
    path = _csv(tmp_path, "d.csv", text)
    code, model = _train(path, tmp_path, *(["--header", "no"] if kind == "undeclared header" else []))
    err = capsys.readouterr().err
    assert code == 2 and path in err and message in err and "Traceback" not in err
    assert model.read_text() == "precious"


def test_bad_rows_skipped_and_counted_up_to_the_max_fraction(tmp_path, capsys):
    path = _csv(tmp_path, "d.csv", GOOD + "1,x,2\n0,1\n")
    code, model = _train(path, tmp_path, "--skip-bad-rows")
    assert code == 0 and json.load(open(model))["bad_rows"] == 2
    code, model = _train(path, tmp_path, "--skip-bad-rows", "--max-bad-fraction", "0.01")
    assert code == 2 and "2 of 42 rows (4.8%) are malformed" in capsys.readouterr().err
    assert model.read_text() == "precious"


def test_crlf_bom_and_blank_lines_are_read_correctly(tmp_path):
    clean = fit("logistic", _csv(tmp_path, "clean.csv", GOOD), l2=0.1)
    messy = "\ufeff" + GOOD.replace("\n", "\r\n").replace("\r\n1,", "\r\n\r\n1,", 3)
    model = fit("logistic", _csv(tmp_path, "messy.csv", messy), l2=0.1)
    assert model["n_rows"] == 40 and model["bad_rows"] == 0
    np.testing.assert_allclose(theta_of(model), theta_of(clean), rtol=1e-12)


def test_label_outside_the_classifier_set(tmp_path, capsys):
    # sgd is binary only (newton, lbfgs and gd train a model of the classes found)
    code, model = _train(_csv(tmp_path, "d.csv", GOOD + "2,1,1\n"), tmp_path, "--solver", "sgd")
    assert code == 2 and "d.csv, line 41: label 2: logistic needs labels 0/1 or -1/1" in capsys.readouterr().err
    assert model.read_text() == "precious"


@pytest.mark.parametrize("compress", ["gz", "bz2"])
def test_truncated_compressed_file(compress, tmp_path, capsys):
    whole = _csv(tmp_path, "d.csv." + compress, GOOD * 50, compress)
    data = open(whole, "rb").read()
    open(whole, "wb").write(data[:len(data) // 2])
    code, model = _train(whole, tmp_path)
    assert code == 2 and "%s is damaged or truncated" % whole in capsys.readouterr().err
    assert model.read_text() == "precious"


def test_compressed_input_that_is_whole_trains(tmp_path):
    plain = fit("logistic", _csv(tmp_path, "d.csv", GOOD), l2=0.1)
    for compress in ("gz", "bz2"):
        packed = fit("logistic", _csv(tmp_path, "d.csv." + compress, GOOD, compress), l2=0.1)
        np.testing.assert_allclose(theta_of(packed), theta_of(plain), rtol=1e-12)


def test_empty_file_missing_path_and_empty_directory(tmp_path, capsys):
    empty = _csv(tmp_path, "empty.csv", "")
    assert _train(empty, tmp_path)[0] == 2
    assert "every input file is empty" in capsys.readouterr().err
    assert _train(str(tmp_path / "nope.csv"), tmp_path)[0] == 2
    assert "nope.csv matches no file; check --input" in capsys.readouterr().err
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "_SUCCESS").write_text("")
    assert _train(str(tmp_path / "out"), tmp_path)[0] == 2
    assert "out matches no file" in capsys.readouterr().err


def test_failed_partition_or_prepare_leaves_no_output(tmp_path, capsys):
    path = _csv(tmp_path, "d.csv", GOOD + "1,abc,2\n")
    for argv in (["partition", "--parts", "2", "--by", "hash"], ["prepare"]):
        out = str(tmp_path / argv[0])
        assert run_cli(*(argv + ["--input", path, "--output", out])) == 2
        assert "line 41: field 2 is not a number" in capsys.readouterr().err
        assert not os.path.exists(out)
        existing = tmp_path / "existing"
        existing.mkdir(exist_ok=True)
        (existing / "keep").write_text("mine")
        assert run_cli(*(argv + ["--input", path, "--output", str(existing)])) == 2
        assert (existing / "keep").read_text() == "mine"


def test_predict_and_evaluate_apply_the_same_policy(tmp_path, capsys):
    model = str(tmp_path / "m.json")
    assert run_cli("train", "--algo", "logistic", "--input", _csv(tmp_path, "g.csv", GOOD),
                   "--model", model, "-q") == 0
    bad = _csv(tmp_path, "b.csv", GOOD + "1,abc,2\n")
    assert run_cli("evaluate", "--model", model, "--input", bad) == 2
    assert "b.csv, line 41: field 2 is not a number" in capsys.readouterr().err
    out = str(tmp_path / "pred")
    assert run_cli("predict", "--model", model, "--input", bad, "--output", out) == 2
    assert "b.csv, line 41: field 2 is not a number" in capsys.readouterr().err
    assert not os.path.exists(out)
    assert run_cli("predict", "--model", model, "--input", bad, "--output", out,
                   "--skip-bad-rows") == 0
    assert len(rows_of(out)) == 40


# --- libsvm / sparse input -----------------------------------------------------------------------

def test_libsvm_input_trains_like_the_same_rows_in_csv(cancer, tmp_path):
    from sklearn.datasets import dump_svmlight_file
    _, X, y = cancer
    path = str(tmp_path / "cancer.svm")
    dump_svmlight_file(X, 2 * y - 1, path, zero_based=False)
    from_svm = fit("logistic", path, l2=1e-3, n_features=30)
    np.testing.assert_allclose(theta_of(from_svm), theta_of(fit("logistic", cancer[0], l2=1e-3)),
                               rtol=1e-9)
    assert from_svm["classes"] == [-1, 1]


def test_wide_sparse_libsvm_uses_giant_and_matches_sklearn(tmp_path):
    from scipy import sparse
    from sklearn.datasets import dump_svmlight_file
    rng = np.random.default_rng(9)
    X = sparse.random(3000, 2000, density=0.005, random_state=9, format="csr")
    w = rng.standard_normal(2000)
    y = (X @ w + 0.1 * rng.standard_normal(3000) > 0).astype(float)
    path = str(tmp_path / "wide.svm")
    dump_svmlight_file(X, y, path, zero_based=False)
    l2 = 1e-3
    model = fit("logistic", path, l2=l2, n_features=2000, max_iter=300)
    assert model["solver"] == "giant" and model["converged"]
    sk = LogisticRegression(C=1 / (l2 * 3000), tol=1e-10, max_iter=20000).fit(X, y)
    theta = np.append(sk.coef_[0], sk.intercept_)
    z_sk, z = X @ theta[:-1] + theta[-1], X @ np.array(model["coef"]) + model["intercept"]

    def objective(z_):
        return np.mean(np.logaddexp(0, z_) - y * z_)
    best = objective(z_sk) + l2 / 2 * theta[:-1] @ theta[:-1]
    assert model["objective"] <= best * (1 + 1e-6)
    np.testing.assert_allclose(z, z_sk, atol=1e-2)


def test_sgd_on_dense_libsvm_trains_like_the_same_rows_in_csv(cancer, tmp_path):
    from sklearn.datasets import dump_svmlight_file, load_svmlight_file
    _, X, y = cancer
    path = str(tmp_path / "cancer.svm")
    dump_svmlight_file(X, y, path, zero_based=False)
    X_read, y_read = load_svmlight_file(path, n_features=30)  # the same (rounded) values
    csv = write_csv(tmp_path / "cancer.csv", y_read, X_read.toarray())
    options = dict(solver="sgd", l2=1e-3, max_iter=3, seed=1)
    np.testing.assert_allclose(theta_of(fit("logistic", path, n_features=30, **options)),
                               theta_of(fit("logistic", csv, **options)), rtol=1e-9)


def test_libsvm_needs_n_features_and_names_bad_lines(tmp_path, capsys):
    path = _csv(tmp_path, "d.svm", "1 1:0.5 2:1\n-1 2:0.25\n1 7:1\n-1 x:2\n")
    assert run_cli("train", "--algo", "svm", "--input", path, "--model", "m.json") == 2
    assert "give --n-features D" in capsys.readouterr().err
    assert run_cli("train", "--algo", "svm", "--input", path, "--model", "m.json",
                   "--n-features", "2") == 2
    assert "d.svm, line 3: feature index outside 1..2" in capsys.readouterr().err


def test_outputs_on_s3_are_checked_before_the_first_pass(s3, cancer, capsys):
    """The same location rules hold for URIs: an S3 input is never overwritten, an S3
    "directory" is not a model file."""
    data = s3 + "/data/train.csv"
    hdfs_utils.put(cancer[0], data)
    before = hdfs_utils.read_text(data)
    for model, message in ((data, "--model %s is the input" % data),
                           (s3 + "/data", "contains the input"),
                           (s3 + "/models/", "ends in /")):
        assert run_cli("train", "--algo", "logistic", "--input", s3 + "/data/", "--model",
                       model, "-q") == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    hdfs_utils.put(cancer[0], s3 + "/models/m.json/part-0")
    assert run_cli("train", "--algo", "logistic", "--input", data, "--model",
                   s3 + "/models/m.json", "-q") == 2
    assert "is a directory" in capsys.readouterr().err
    assert hdfs_utils.read_text(data) == before
