"""Parse once (driver/parse_once.py) and how pass parameters travel (jobs/params.py).

The packing threshold is lowered to 0 bytes here so that small CSVs pack: a run that packs
must give the model of the run that parses every pass, the first pass counting the bad rows
and the header, later passes reading the packed blocks only.
"""
import json
import os

import numpy as np
import pytest
from sklearn.datasets import make_classification

import driver.parse_once
import driver.passes
import jobs.params
from conftest import write_csv
from driver.passes import Runner
from driver.train import TrainConfig, train

MATRIX = [
    ("logistic", {"solver": "newton"}),
    ("logistic", {"solver": "lbfgs", "l2": 1e-3}),
    ("logistic", {"solver": "newton", "weight_col": 7}),
    ("logistic", {"solver": "newton", "lambdas": [0.1, 0.01, 0.001], "cv": 3}),
    ("logistic", {"solver": "newton", "l1_ratio": 0.5, "l2": 1e-2}),
    ("svm", {"l2": 1e-2}),
    ("linear", {"solver": "gd", "max_iter": 30}),
]


@pytest.fixture(scope="module")
def csv_with_a_bad_row(tmp_path_factory):
    """Header, 1500 rows, 6 features, a weight column (7) and one malformed row."""
    X, y = make_classification(n_samples=1500, n_features=6, n_informative=4, n_redundant=0,
                               random_state=7)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    path = tmp_path_factory.mktemp("po") / "rows.csv"
    write_csv(path, y, np.column_stack([X, weights]),
              header="label,a,b,c,d,e,f,weight")
    with open(path, "a") as f:
        f.write("1,2,3,not-a-number,5,6,7,1\n")
    return str(path)


def _train(path, algo, packs, checkpoint_dir=None, resume=False, runner="inline", **options):
    with Runner(runner, mappers=2) as r:
        r.packs_text = lambda files: packs
        model = train(TrainConfig(algo, [path], skip_bad_rows=True, **options), r,
                      checkpoint_dir, resume)
        leftovers = os.listdir(r.scratch)
    return model, leftovers


@pytest.mark.parametrize("algo,options", MATRIX, ids=[
    "%s-%s" % (a, "-".join("%s=%s" % kv for kv in sorted(o.items()))) for a, o in MATRIX])
def test_a_packed_run_gives_the_model_of_a_parsing_run(csv_with_a_bad_row, algo, options):
    parsed, _ = _train(csv_with_a_bad_row, algo, False, **options)
    packed, leftovers = _train(csv_with_a_bad_row, algo, True, **options)
    assert "packed" in leftovers  # it did pack, into the runner's temp directory
    assert packed["n_passes"] == parsed["n_passes"] > 1
    assert (packed["n_rows"], packed["bad_rows"]) == (parsed["n_rows"], parsed["bad_rows"])
    assert parsed["bad_rows"] == 1 and parsed["n_rows"] == 1500
    np.testing.assert_allclose(packed["coef"], parsed["coef"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(packed["intercept"], parsed["intercept"], rtol=1e-9, atol=1e-12)


def test_packed_blocks_in_the_checkpoint_serve_the_resumed_run(csv_with_a_bad_row, tmp_path,
                                                               monkeypatch):
    checkpoint = str(tmp_path / "ck")
    options = dict(solver="newton", l2=1e-4, tol=1e-12)
    first, _ = _train(csv_with_a_bad_row, "logistic", True, checkpoint, max_iter=2, **options)
    packed = os.path.join(checkpoint, "packed")
    marker = json.load(open(os.path.join(packed, "_mrlearn_packed.json")))
    assert marker["inputs"] == [csv_with_a_bad_row]
    lines = open(os.path.join(packed, "part-00000")).read().splitlines()
    assert lines and all(line.startswith("MRLP1,") for line in lines)

    files_read = []
    real_run_pass = driver.parse_once.run_pass
    monkeypatch.setattr(driver.parse_once, "run_pass",
                        lambda job, params, files, runner: files_read.append(files) or
                        real_run_pass(job, params, files, runner))
    resumed, _ = _train(csv_with_a_bad_row, "logistic", True, checkpoint, resume=True,
                        max_iter=100, **options)
    monkeypatch.undo()
    straight, _ = _train(csv_with_a_bad_row, "logistic", False, max_iter=100, **options)
    assert files_read == [[os.path.join(packed, "part-00000")]] * (resumed["n_passes"] - 2)
    assert resumed["n_passes"] == straight["n_passes"] and resumed["bad_rows"] == 1
    np.testing.assert_allclose(resumed["coef"], straight["coef"], rtol=1e-9)
    assert first["n_passes"] == 2


@pytest.mark.parametrize("damage", ["marker", "part", "inputs"])
def test_resume_packs_again_when_the_packed_blocks_are_not_whole(csv_with_a_bad_row,
                                                                 tmp_path, damage):
    checkpoint = str(tmp_path / "ck")
    packed = os.path.join(checkpoint, "packed")
    _train(csv_with_a_bad_row, "logistic", True, checkpoint, max_iter=2)
    marker = os.path.join(packed, "_mrlearn_packed.json")
    if damage == "marker":
        open(marker, "w").write("{not json")
    elif damage == "part":
        os.remove(os.path.join(packed, "part-00000"))
    else:
        other = dict(json.load(open(marker)), inputs=["other.csv"])
        open(marker, "w").write(json.dumps(other))
    resumed, _ = _train(csv_with_a_bad_row, "logistic", True, checkpoint, resume=True)
    straight, _ = _train(csv_with_a_bad_row, "logistic", False)
    assert resumed["n_passes"] == straight["n_passes"] and resumed["bad_rows"] == 1
    np.testing.assert_allclose(resumed["coef"], straight["coef"], rtol=1e-9)
    assert json.load(open(marker))["inputs"] == [csv_with_a_bad_row]


def test_a_new_run_replaces_what_a_crashed_first_pass_left(csv_with_a_bad_row, tmp_path):
    checkpoint = tmp_path / "ck"
    (checkpoint / "packed").mkdir(parents=True)
    (checkpoint / "packed" / "part-00000").write_text("half a block")
    model, _ = _train(csv_with_a_bad_row, "logistic", True, str(checkpoint))
    assert model["n_rows"] == 1500 and model["converged"]


def test_exact_least_squares_reads_its_one_pass_as_text(csv_with_a_bad_row):
    parsed, _ = _train(csv_with_a_bad_row, "linear", False)
    packed, leftovers = _train(csv_with_a_bad_row, "linear", True)
    assert "packed" not in leftovers and packed["n_passes"] == 1
    assert packed["coef"] == parsed["coef"]


def test_small_text_is_not_packed_and_large_text_is(tmp_path, monkeypatch):
    path = tmp_path / "tiny.csv"
    path.write_text("1,2\n0,3\n")
    with Runner("inline") as runner:
        assert not runner.packs_text([str(path)])
        monkeypatch.setattr(driver.passes, "PARSE_ONCE_MIN_BYTES", 8)
        assert runner.packs_text([str(path)])


@pytest.mark.parametrize("inline_max", [0, jobs.params.INLINE_MAX_BYTES])
def test_parameters_in_the_command_line_or_a_file_give_one_model(csv_with_a_bad_row,
                                                                 monkeypatch, inline_max):
    monkeypatch.setattr(driver.passes, "inline_value",
                        lambda text: jobs.params.inline_value(text) if inline_max else None)
    model, leftovers = _train(csv_with_a_bad_row, "logistic", False, l2=1e-3)
    assert any(name.startswith("pass-") for name in leftovers) == (inline_max == 0)
    reference, _ = _train(csv_with_a_bad_row, "logistic", False, l2=1e-3)
    assert model["coef"] == reference["coef"]


def test_inline_parameters_round_trip_and_stay_small():
    params = {"theta": [0.1, -2.5e-300, 1e300], "label_rule": "a, \"quoted\" rule\t",
              "nan": float("nan")}
    encoded = jobs.params.encode_inline(params)
    assert encoded and not any(c.isspace() for c in encoded)

    class Options:
        params_inline = encoded
        params = None

    back = jobs.params.load_params(Options)
    assert back["theta"] == params["theta"] and back["label_rule"] == params["label_rule"]
    assert np.isnan(back["nan"])
    assert jobs.params.encode_inline({"x": [0.123456789] * 10000}) is None


@pytest.mark.local_runner
def test_parse_once_on_the_local_runner(csv_with_a_bad_row):
    parsed, _ = _train(csv_with_a_bad_row, "logistic", False, runner="local", l2=1e-3)
    packed, leftovers = _train(csv_with_a_bad_row, "logistic", True, runner="local", l2=1e-3)
    assert "packed" in leftovers
    assert (packed["n_passes"], packed["n_rows"], packed["bad_rows"]) == (
        parsed["n_passes"], parsed["n_rows"], parsed["bad_rows"])
    np.testing.assert_allclose(packed["coef"], parsed["coef"], rtol=1e-9, atol=1e-12)


LIBSVM_MATRIX = [
    (2048, {"max_iter": 60, "tol": 1e-12}),        # sparse rows, GIANT (to the optimum)
    (2048, {"solver": "lbfgs", "standardize": True}),
    (2048, {"solver": "lbfgs", "l1_ratio": 0.5}),
    (2048, {"hash_features": 9, "n_features": None}),  # hashed into 512 dense columns
    (64, {"solver": "newton"}),                    # dense libsvm rows, packed as CSV rows
]


@pytest.fixture(scope="module")
def libsvm_with_a_bad_row(tmp_path_factory):
    """1500 rcv1-like rows of 2^11 features (three classes for the multiclass case live in
    the labels' tail: see below), plus one malformed line."""
    from sklearn.datasets import dump_svmlight_file
    from bench.wide import rcv1_like
    X, y = rcv1_like(1500, 11, nnz=15, seed=3)
    path = tmp_path_factory.mktemp("po") / "rows.svm"
    dump_svmlight_file(X, y, str(path), zero_based=False)
    with open(path, "a") as f:
        f.write("1 3:0.5 nonsense\n")
    dense = tmp_path_factory.mktemp("po") / "dense.svm"
    dump_svmlight_file(X[:, :64], y, str(dense), zero_based=False)
    return str(path), str(dense)


@pytest.mark.parametrize("width,options", LIBSVM_MATRIX, ids=[
    "%d-%s" % (w, "-".join("%s=%s" % kv for kv in sorted(o.items()))) for w, o in LIBSVM_MATRIX])
def test_a_packed_libsvm_run_gives_the_model_of_a_parsing_run(libsvm_with_a_bad_row, width,
                                                              options):
    path = libsvm_with_a_bad_row[0 if width > 64 else 1]
    options = dict({"n_features": width, "l2": 1e-3, "max_iter": 8}, **options)
    parsed, _ = _train(path, "logistic", False, **options)
    packed, leftovers = _train(path, "logistic", True, **options)
    assert "packed" in leftovers
    assert packed["solver"] == parsed["solver"]
    assert (packed["n_rows"], packed["bad_rows"]) == (parsed["n_rows"], parsed["bad_rows"])
    assert parsed["n_rows"] == 1500 and parsed["bad_rows"] == (1 if width > 64 else 0)
    # GIANT's directions depend on the splits, which differ between text and packed lines
    # (lines of other sizes): its passes may differ, not its optimum.
    giant = parsed["solver"] == "giant"
    assert abs(packed["n_passes"] - parsed["n_passes"]) <= (4 if giant else 0)
    assert parsed["n_passes"] > 1
    tolerance = dict(rtol=1e-5, atol=1e-6) if giant else dict(rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(packed["coef"], parsed["coef"], **tolerance)
    np.testing.assert_allclose(packed["intercept"], parsed["intercept"], **tolerance)


def test_sparse_packed_blocks_round_trip_and_refuse_damage():
    from scipy import sparse
    from jobs.packed import decode_sparse_block, pack_rows
    from test_giant import sparse_rows
    A = sparse.random(5000, 300, density=0.05, random_state=1, format="lil")
    A[7] = 0  # an empty row
    A = A.tocsr()
    y = np.arange(5000.0)
    pairs = pack_rows(sparse_rows(A), 1, 3, y)
    assert [part for part, _ in pairs] == [1, 2]
    blocks = [decode_sparse_block(line) for _, line in pairs]
    np.testing.assert_array_equal(np.vstack([X.toarray() for X, _ in blocks]), A.toarray())
    np.testing.assert_array_equal(np.concatenate([b for _, b in blocks]), y)
    with pytest.raises(ValueError, match="damaged"):
        decode_sparse_block(pairs[0][1][:-40])


def test_libsvm_packed_blocks_serve_the_resumed_run(libsvm_with_a_bad_row, tmp_path):
    checkpoint = str(tmp_path / "ck")
    options = dict(n_features=2048, l2=1e-3, tol=1e-12)
    _train(libsvm_with_a_bad_row[0], "logistic", True, checkpoint, max_iter=2, **options)
    lines = open(os.path.join(checkpoint, "packed", "part-00000"), "rb").read().splitlines()
    assert lines and all(line.startswith(b"MRLS2,") for line in lines)  # binary lines
    resumed, _ = _train(libsvm_with_a_bad_row[0], "logistic", True, checkpoint, resume=True,
                        **options)
    straight, _ = _train(libsvm_with_a_bad_row[0], "logistic", True, **options)  # packs too
    assert resumed["n_passes"] == straight["n_passes"]
    np.testing.assert_allclose(resumed["coef"], straight["coef"], rtol=1e-9, atol=1e-12)
