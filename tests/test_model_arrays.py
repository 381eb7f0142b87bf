"""Large arrays of a model live beside its JSON in an array file (``m.json`` ->
``m.arrays.npz``, read without pickle); predict, evaluate, summary, plot and the
scikit-learn export read it exactly; a missing, truncated, foreign or pickled array file is
refused in one line before any pass; small models stay plain JSON."""
import hashlib
import json
import os
import pickle
import shutil
import types

import numpy as np
import pytest

import hdfs_utils
from conftest import fit, run_cli, write_csv
from driver.model import (ARRAY_MIN_SIZE, arrays_path, load_model, save_model, to_sklearn)
from driver.summary import format_summary
from test_hashing import hashed_problem

BITS = 13  # 8192 coefficients: above ARRAY_MIN_SIZE


def _listed(value):
    """``value`` with numpy arrays as lists (the in-memory model's types)."""
    if isinstance(value, dict):
        return {k: _listed(v) for k, v in value.items()}
    if isinstance(value, (list, np.ndarray)):
        return [_listed(v) for v in value]
    return value


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """A 2^13-feature hashed libsvm logistic model trained by ``mrlearn train`` (m.json),
    the same model trained in memory, and that in-memory model written as plain JSON."""
    d = tmp_path_factory.mktemp("wide")
    data = str(d / "h.svm")
    X, y = hashed_problem(data, BITS, n=300)
    options = dict(l2=1e-3, hash_features=BITS, max_iter=3)
    assert run_cli("train", "--algo", "logistic", "--input", data, "--model", d / "m.json",
                   "--l2", "1e-3", "--hash-features", BITS, "--max-iter", 3, "-q") == 0
    memory = fit("logistic", data, **options)
    (d / "plain.json").write_text(json.dumps(memory, indent=1) + "\n")
    return types.SimpleNamespace(dir=d, data=data, X=X, y=y, model=str(d / "m.json"),
                                 plain=str(d / "plain.json"), memory=memory)


def test_a_wide_model_is_small_json_and_an_array_file(wide):
    doc = json.loads(open(wide.model).read())
    sidecar = wide.dir / "m.arrays.npz"
    assert arrays_path(wide.model) == str(sidecar)
    assert doc["format_version"] == 2 and doc["coef"] == {
        "array": "coef", "shape": [1 << BITS], "dtype": "float64"}
    assert doc["arrays"] == {"file": "m.arrays.npz", "bytes": os.path.getsize(sidecar),
                             "sha256": hashlib.sha256(sidecar.read_bytes()).hexdigest()}
    assert os.path.getsize(wide.model) < 10000 < os.path.getsize(wide.plain)
    with np.load(sidecar, allow_pickle=False) as arrays:
        assert arrays.files == ["coef"] and arrays["coef"].dtype == np.float64
    loaded = load_model(wide.model)
    assert isinstance(loaded["coef"], np.ndarray) and loaded["format_version"] == 1
    assert "arrays" not in loaded
    assert np.array_equal(loaded["coef"], wide.memory["coef"])  # exact
    trained = {k: v for k, v in _listed(loaded).items() if k != "history"}  # history: seconds
    assert trained == {k: v for k, v in wide.memory.items() if k != "history"}


def test_predict_evaluate_summary_and_sklearn_equal_the_plain_model(wide, capsys):
    outputs = {}
    for name in ("model", "plain"):
        out = wide.dir / ("pred-" + name)
        assert run_cli("predict", "--model", getattr(wide, name), "--input", wide.data,
                       "--output", out) == 0
        assert run_cli("evaluate", "--model", getattr(wide, name), "--input", wide.data,
                       "--json") == 0
        metrics = capsys.readouterr().out.strip().splitlines()[-1]
        assert run_cli("summary", getattr(wide, name)) == 0
        summary = capsys.readouterr().out.replace(getattr(wide, name), "M")
        outputs[name] = ((out / "part-00000").read_text(), metrics, summary)
    assert outputs["model"] == outputs["plain"]
    est, plain = to_sklearn(load_model(wide.model)), to_sklearn(load_model(wide.plain))
    assert np.array_equal(est.coef_, plain.coef_) and est.intercept_ == plain.intercept_
    assert np.array_equal(est.predict_proba(wide.X), plain.predict_proba(wide.X))


def test_a_small_dense_model_is_plain_json_without_array_file(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    data = write_csv(tmp_path / "train.csv", (X[:, 0] > 0).astype(float), X)
    model = tmp_path / "m.json"
    assert run_cli("train", "--algo", "logistic", "--input", data, "--model", model, "-q") == 0
    assert sorted(os.listdir(tmp_path)) == ["m.json", "train.csv"]
    doc = json.loads(model.read_text())
    assert doc["format_version"] == 1 and "arrays" not in doc and len(doc["coef"]) == 3
    assert model.read_text() == json.dumps(doc, indent=1) + "\n"  # as before array files


def _synthetic(algo, d, **fields):
    """A valid model dict of ``algo`` with ``d`` features (no training)."""
    rng = np.random.default_rng(1)
    model = {"format": "mrlearn-model", "format_version": 1, "algo": algo, "solver": "newton",
             "loss": {"linear": "squared", "logistic": "logistic", "kmeans": None}[algo],
             "n_features": d, "n_rows": 100, "n_passes": 2, "params": {"l2": 1e-3},
             "coef": rng.normal(size=d).tolist(), "intercept": 0.25, "classes": None}
    model.update(fields)
    return model


def test_two_dimensional_nested_and_integer_arrays_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(2)
    d = 2048
    cases = {
        "multinomial": _synthetic("logistic", d, multiclass="multinomial", classes=[0, 1, 2],
                                  coef=rng.normal(size=(3, d)).tolist(),
                                  intercept=[0.5, -0.5, 0.0]),
        "kmeans": _synthetic("kmeans", d, coef=None, intercept=None, cluster_centers=rng.normal(
            size=(2, d)).tolist(), inertia=1.5, params={"l2": 0.0, "n_init": 1, "tol": 1e-4, "seed": 0}),
        "nested": _synthetic("linear", 4, extra={"counts": list(range(ARRAY_MIN_SIZE)),
                                                 "small": [1.5, 2.5], "rows": [[0.5] * 4] * 4}),
    }
    for name, model in cases.items():
        path = str(tmp_path / (name + ".json"))
        save_model(path, model)
        doc = json.loads(open(path).read())
        assert doc["format_version"] == 2 and os.path.exists(arrays_path(path)), name
        assert _listed(load_model(path)) == model, name
    assert json.loads(open(tmp_path / "nested.json").read())["extra"]["small"] == [1.5, 2.5]
    counts = load_model(str(tmp_path / "nested.json"))["extra"]["counts"]
    assert counts.dtype == np.int64
    est = to_sklearn(load_model(str(tmp_path / "multinomial.json")))
    assert np.array_equal(est.coef_, cases["multinomial"]["coef"])
    km = to_sklearn(load_model(str(tmp_path / "kmeans.json")))
    assert np.array_equal(km.cluster_centers_, cases["kmeans"]["cluster_centers"])


def test_summary_reads_the_array_file(tmp_path, capsys):
    d, rng = 4100, np.random.default_rng(3)
    columns = {k: rng.random(d + 1).tolist() for k in (
        "coef", "std_err", "statistic", "p_value", "ci_low", "ci_high")}
    summary = dict(columns, names=["x%d" % j for j in range(d)] + ["intercept"],
                   distribution="t", n=100, df_model=d, df_resid=10)
    model = _synthetic("linear", d, summary=summary)
    m = str(tmp_path / "m.json")
    save_model(m, model)
    assert set(np.load(arrays_path(m), allow_pickle=False).files) == {"coef"} | {
        "summary/" + k for k in columns}
    assert run_cli("summary", m) == 0
    assert capsys.readouterr().out == format_summary(model, m) + "\n"
    assert _listed(load_model(m)) == model


def test_plot_reads_the_array_file_and_never_overwrites_it(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    d, rng = 1024, np.random.default_rng(4)
    path = {"lambdas": [1.0, 0.3, 0.1, 0.03], "n_nonzero": [3, 30, 300, d],
            "coef": rng.normal(size=(4, d)).tolist(), "intercept": [0.0] * 4}
    model = _synthetic("linear", d, path=path)
    model["params"]["l1_ratio"] = 0.5
    m = str(tmp_path / "m.json")
    save_model(m, model)
    assert np.load(arrays_path(m), allow_pickle=False).files == ["path/coef"]
    assert run_cli("plot", m, "--output", tmp_path / "p.png") == 0
    assert (tmp_path / "p.png").stat().st_size > 0
    before = open(arrays_path(m), "rb").read()
    assert run_cli("plot", m, "--output", arrays_path(m)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "apart from --model and its array file" in err[0], err
    assert open(arrays_path(m), "rb").read() == before


class _Planted:
    """Unpickling this object creates the file ``_Planted.marker``: proof a pickle ran."""
    marker = None

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _npz(**arrays):
    import io
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _object_npz():
    coef = np.empty(1 << BITS, dtype=object)
    coef[:] = 0.0
    coef[0] = _Planted()
    return _npz(coef=coef)


def _npy(coef):
    import io
    buffer = io.BytesIO()
    np.save(buffer, coef)
    return buffer.getvalue()


# name: (new array file bytes from (good bytes, the other model's bytes),
#        re-sign the JSON with them (a hand-edited pair), expected message)
DAMAGES = {
    "deleted": (None, False, "array file {s} of model {m} is missing"),
    "truncated": (lambda good, other: good[:-100], False, "array file {s} has"),
    "another model's": (lambda good, other: other, False,
                        "array file {s} is not the one written with model {m}"),
    "wrong shape": (lambda good, other: _npz(coef=np.zeros(4096)), True,
                    "array file {s} of model {m} is unusable: coef is float64 [4096], "
                    "not float64 [8192]"),
    "object array": (lambda good, other: _object_npz(), True,
                     "array file {s} of model {m} is unusable: it holds pickled objects, "
                     "which mrlearn never loads"),
    "pickle": (lambda good, other: pickle.dumps(_Planted()), True,
               "array file {s} of model {m} is unusable: it holds pickled objects, "
               "which mrlearn never loads"),
    "one .npy": (lambda good, other: _npy(np.zeros(1 << BITS)), True,
                 "array file {s} of model {m} is unusable: not an .npz archive"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_bad_array_file_is_refused_in_one_line_before_any_pass(wide, tmp_path, capsys,
                                                                 damage):
    make, resign, message = DAMAGES[damage]
    m, s, marker = tmp_path / "m.json", tmp_path / "m.arrays.npz", tmp_path / "pickle-ran"
    shutil.copy(wide.model, m)
    shutil.copy(wide.dir / "m.arrays.npz", s)
    other = dict(wide.memory, coef=(np.asarray(wide.memory["coef"]) + 1.0).tolist())
    save_model(str(tmp_path / "other.json"), other)
    _Planted.marker = str(marker)
    if make is None:
        s.unlink()
    else:
        data = make(s.read_bytes(), (tmp_path / "other.arrays.npz").read_bytes())
        s.write_bytes(data)
        if resign:
            doc = json.loads(m.read_text())
            doc["arrays"].update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
            m.write_text(json.dumps(doc))
    fill = dict(s=s, m=m)
    for argv in (["evaluate", "--model", m, "--input", wide.data],
                 ["predict", "--model", m, "--input", wide.data, "--output", tmp_path / "out"],
                 ["summary", m]):
        assert run_cli(*argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message.format(**fill) in err[0], err
        assert "train the model again" in err[0]
    assert not (tmp_path / "out").exists() and not marker.exists()


def test_locations_cover_the_array_file(wide, tmp_path, capsys):
    data = tmp_path / "x.arrays.npz"
    shutil.copy(wide.data, data)
    train = ["train", "--algo", "logistic", "--hash-features", BITS, "--format", "libsvm", "-q"]
    assert run_cli(*train, "--input", data, "--model", tmp_path / "x.json") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the array file of --model %s is the input" % data in err[0], err
    (tmp_path / "y.arrays.npz").mkdir()
    assert run_cli(*train, "--input", wide.data, "--model", tmp_path / "y.json") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "its array file %s is a directory" % (
        tmp_path / "y.arrays.npz") in err[0], err


@pytest.fixture
def s3():
    boto3, moto = pytest.importorskip("boto3"), pytest.importorskip("moto")
    with moto.mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="mrlearn-arrays")
        yield "s3://mrlearn-arrays"


def test_a_model_with_its_array_file_on_s3(wide, s3, capsys):
    model = s3 + "/models/m.json"
    save_model(model, wide.memory)
    assert hdfs_utils.exists(s3 + "/models/m.arrays.npz")
    assert np.array_equal(load_model(model)["coef"], wide.memory["coef"])
    assert run_cli("evaluate", "--model", model, "--input", wide.data, "--json") == 0
    on_s3 = capsys.readouterr().out.strip().splitlines()[-1]
    assert run_cli("evaluate", "--model", wide.plain, "--input", wide.data, "--json") == 0
    assert on_s3 == capsys.readouterr().out.strip().splitlines()[-1]
    hdfs_utils.remove(s3 + "/models/m.arrays.npz")
    assert run_cli("evaluate", "--model", model, "--input", wide.data) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "array file %s/models/m.arrays.npz of model %s is missing" % (
        s3, model) in err[0], err
