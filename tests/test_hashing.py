"""Feature hashing of libsvm indices (--hash-features B): training, predict and evaluate hash
alike, collisions add up, and the model equals scikit-learn's on the hashed matrix."""
import json

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from conftest import fit, run_cli
from jobs.parsing import hash_columns, parse_libsvm_block


def hashed_problem(path, bits, n=1500, seed=0):
    """libsvm rows with indices up to 10^12 (two in every row), written to ``path``;
    returns ``(X, y)`` with ``X`` their hashed matrix (scipy CSR, n x 2^bits) built
    here from :func:`hash_columns`, labels from a logistic model on it."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        index = np.unique(np.append(rng.integers(1, 10 ** 12, 8), [7, 123456789012]))
        rows.append((index, rng.random(len(index))))
    r, c, v = [], [], []
    for i, (index, value) in enumerate(rows):
        column, sign = hash_columns(index.astype(np.int64), bits)
        r += [i] * len(index)
        c += column.tolist()
        v += (value * sign).tolist()
    X = sparse.csr_matrix((v, (r, c)), shape=(n, 1 << bits))  # duplicates add up
    y = (X @ rng.normal(size=1 << bits) + 0.3 * rng.normal(size=n) > 0).astype(float)
    with open(path, "w") as f:
        for (index, value), label in zip(rows, y):
            f.write("%d %s\n" % (label, " ".join("%d:%.17g" % p for p in zip(index, value))))
    return X, y


def test_hash_columns_are_signed_and_spread():
    column, sign = hash_columns(np.arange(1, 100_001, dtype=np.int64), 10)
    counts = np.bincount(column, minlength=1024)
    assert counts.min() > 50 and counts.max() < 150  # about 98 each
    assert abs(sign.mean()) < 0.01 and set(np.unique(sign)) == {-1.0, 1.0}
    X, _, bad = parse_libsvm_block(["1 3:1 3:2 900000000000:0.5"], 16, hash_bits=4)
    c, s = hash_columns(np.array([3, 900000000000]), 4)
    expected = np.zeros(16)
    np.add.at(expected, c, np.array([3.0, 0.5]) * s)
    assert bad == [] and np.array_equal(X[0], expected)


@pytest.mark.parametrize("bits, solver", [(6, "newton"), (10, "giant")])
def test_hashed_training_equals_sklearn_on_the_hashed_matrix(tmp_path, capsys, bits, solver):
    """bits 6: 64 dense columns, collisions in every row, Newton; bits 10: sparse rows,
    GIANT. predict and evaluate on the raw file hash as training did."""
    path = str(tmp_path / "h.svm")
    X, y = hashed_problem(path, bits)
    l2 = 1e-3
    model = fit("logistic", path, l2=l2, hash_features=bits, tol=1e-12, max_iter=500)
    assert model["solver"] == solver and model["n_features"] == 1 << bits
    sk = LogisticRegression(C=1 / (l2 * len(y)), tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(model["coef"], sk.coef_[0], atol=1e-5)
    model_path = tmp_path / "m.json"
    model_path.write_text(json.dumps(model))
    out = tmp_path / "pred"
    assert run_cli("predict", "--model", model_path, "--input", path, "--output", out) == 0
    probability = [float(line.split(",")[1]) for line in open(out / "part-00000")]
    np.testing.assert_allclose(probability, sk.predict_proba(X)[:, 1], atol=1e-5)
    assert run_cli("evaluate", "--model", model_path, "--input", path, "--json") == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["accuracy"] == pytest.approx(sk.score(X, y), abs=2 / len(y))


@pytest.mark.parametrize("argv, message", [
    (["--hash-features", "8", "--n-features", "100"], "give --n-features (the highest libsvm "
                                                      "index) or --hash-features"),
    (["--hash-features", "25"], "--hash-features B needs 1 <= B <= 24"),
])
def test_hash_features_misuse_is_one_line(tmp_path, capsys, argv, message):
    path = str(tmp_path / "h.svm")
    hashed_problem(path, 4, n=20)
    model = tmp_path / "m.json"
    assert run_cli("train", "--algo", "logistic", "--input", path, "--model", model,
                   *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not model.exists()


def test_hash_features_on_csv_is_refused(cancer, tmp_path, capsys):
    model = tmp_path / "m.json"
    assert run_cli("train", "--algo", "logistic", "--input", cancer[0], "--model", model,
                   "--hash-features", "8") == 2
    err = capsys.readouterr().err
    assert "--hash-features applies to libsvm input" in err and not model.exists()


def test_a_hashing_model_on_csv_says_the_model_hashes(tmp_path, capsys):
    path = str(tmp_path / "h.svm")
    hashed_problem(path, 6, n=200)
    model = tmp_path / "m.json"
    assert run_cli("train", "--algo", "logistic", "--input", path, "--model", model,
                   "--hash-features", "6") == 0
    csv = tmp_path / "rows.csv"
    csv.write_text("1,0.5,0.25\n0,1.5,2.5\n")
    capsys.readouterr()
    assert run_cli("evaluate", "--model", model, "--input", csv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the model hashes libsvm features (trained with " \
        "--hash-features 6); %s is CSV" % csv in err[0], err


def test_an_index_beyond_2_to_53_is_a_bad_row_named_by_line(tmp_path, capsys):
    path = tmp_path / "big.svm"
    path.write_text("1 1:1\n0 2:1\n1 %d:1\n" % (1 << 60))
    assert run_cli("train", "--algo", "logistic", "--input", path, "--model",
                   tmp_path / "m.json", "--hash-features", "4") == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "feature index outside 1..9007199254740992 (--hash-features)" in err


@pytest.mark.local_runner
def test_hashed_training_on_local_mappers_equals_inline(tmp_path):
    path = str(tmp_path / "h.svm")
    hashed_problem(path, 10, n=600)
    # L-BFGS: its path does not depend on the splits (GIANT's directions do), so the
    # models agree to rounding
    options = dict(l2=1e-2, hash_features=10, tol=1e-10, solver="lbfgs")
    local = fit("logistic", path, runner="local", mappers=2, **options)
    inline = fit("logistic", path, **options)
    np.testing.assert_allclose(local["coef"], inline["coef"], rtol=1e-9, atol=1e-12)
