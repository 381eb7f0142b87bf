"""Model-parallel passes (``--reducers R``): each split emits R shard records, each reducer
sums one block of the coordinate fields holding one running sum, and the driver joins the
blocks; models equal the one-reducer runs and scikit-learn's."""
import json
import tracemalloc

import numpy as np
import pytest
from sklearn.datasets import dump_svmlight_file, make_classification

from bench.wide import rcv1_like
from conftest import run_cli, theta_of, write_csv
from driver.passes import SHARD_FEATURES, Runner, run_pass
from driver.train import TrainConfig, train
from jobs.objective_pass import MRObjectivePass
from jobs.partitioning import hadoop_partition
from jobs.records import join_shards, merge_records, shard_record, split_key, to_json
from jobs.wire import decode_value, encode_value
from test_giant import sklearn_theta

D_BITS = 11
D = 2 ** D_BITS


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    X, y = rcv1_like(3000, D_BITS, nnz=20, seed=4)
    path = str(tmp_path_factory.mktemp("mp") / "wide.svm")
    dump_svmlight_file(X, y, path, zero_based=False)
    return path, X, y


@pytest.fixture(scope="module")
def wide_multiclass(tmp_path_factory):
    X, y = rcv1_like(2000, 10, nnz=20, seed=6)
    y = y + (X[:, :40].sum(axis=1).A1 > 0.15)  # three classes
    path = str(tmp_path_factory.mktemp("mp") / "wide3.svm")
    dump_svmlight_file(X, y, path, zero_based=False)
    return path


def test_shard_records_cut_the_coordinate_fields_and_join_back():
    rng = np.random.default_rng(0)
    record = {"n": 7, "loss": rng.normal(size=3), "grad": rng.normal(size=(3, 11)),
              "hess_diag": rng.normal(size=11), "column_sums": rng.normal(size=(2, 10)),
              "hess": rng.normal(size=(11, 11)), "labels": [0.0, 1.0], "first_bad": None}
    parts = shard_record(record, 4)
    assert [p["shard"] for p in parts] == [0, 1, 2, 3]
    assert [p["grad"].shape[-1] for p in parts] == [2, 3, 3, 3]
    assert set(parts[1]) == {"shard", "grad", "hess_diag", "column_sums"}
    assert parts[0]["hess"] is record["hess"] and parts[0]["n"] == 7
    wire = [json.loads(json.dumps(to_json(p))) for p in parts]
    joined = join_shards(wire[::-1])
    for name in ("grad", "hess_diag", "column_sums", "hess", "loss"):
        np.testing.assert_array_equal(joined[name], record[name])
    assert joined["n"] == 7 and "shard" not in joined
    assert shard_record(record, 1) == [record]


def test_shard_keys_reach_their_reducer_in_split_order():
    splits = [["/data/a.svm", 0], ["/data/a.svm", 1 << 20], ["/data/b.svm", 0]]
    for shards in (1, 3, 8):
        keys = [[split_key(s, r, shards) for s in splits] for r in range(shards)]
        for r, row in enumerate(keys):
            assert {hadoop_partition(json.dumps(k).encode(), shards) for k in row} == {r}
            assert sorted(json.dumps(k) for k in row) == [json.dumps(k) for k in row]


def test_records_of_different_shapes_do_not_merge():
    with pytest.raises(ValueError, match="grad"):
        merge_records({"grad": np.zeros((1, 5))}, {"grad": np.zeros(5)})
    with pytest.raises(ValueError, match="shard"):
        merge_records({"shard": 1}, {"shard": 2})


def test_a_reducer_holds_one_running_sum_not_every_split_record():
    """50 split records of 2^16 coordinates: the reducer's peak memory is a few records
    (it merges them as they arrive), not 50."""
    job = MRObjectivePass(args=["--params-inline", "e30="])
    d = 2 ** 16
    record_bytes = 8 * d

    def records():
        for i in range(50):
            yield decode_value(encode_value({"n": 1, "grad": np.full((1, d), float(i))}))

    tracemalloc.start()
    list(job.reducer("k", records()))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert job.merged["grad"][0, 0] == sum(range(50)) and job.merged["n"] == 50
    assert peak < 8 * record_bytes, "peak %.1f records" % (peak / record_bytes)


def test_the_default_is_one_reducer_per_shard_features():
    with Runner("inline") as r:
        assert r.shards(MRObjectivePass, {"n_features": SHARD_FEATURES}) == 1
        assert r.shards(MRObjectivePass, {"n_features": 4 * SHARD_FEATURES + 1}) == 5
        assert r.shards(MRObjectivePass, {"n_features": 20}) == 1
    with Runner("inline", reducers=8) as r:
        assert r.shards(MRObjectivePass, {"n_features": 3}) == 3  # never more than d
        from jobs.evaluate_pass import MREvaluatePass
        assert r.shards(MREvaluatePass, {"n_features": 2 ** 20}) == 1  # nothing to shard


@pytest.mark.parametrize("reducers", [3, 8])
def test_a_pass_record_is_the_same_with_r_reducers(wide, reducers):
    path, X, y = wide
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(2, D + 1)) * 0.1
    params = {"format": "libsvm", "n_columns": D + 1, "n_features": D, "label_col": 0,
              "header": "no", "loss": "logistic", "thetas": theta.tolist(), "order": 1,
              "diagonal": True, "column_sums": True}
    with Runner("inline") as r:
        one = run_pass(MRObjectivePass, params, [path], r)
    with Runner("inline", reducers=reducers) as r:
        many = run_pass(MRObjectivePass, params, [path], r)
    assert set(one) == set(many)
    for name in ("grad", "hess_diag", "column_sums", "loss"):
        np.testing.assert_array_equal(many[name], one[name])
    assert many["n"] == one["n"] == 3000


@pytest.mark.parametrize("solver,options", [
    ("giant", {}),
    ("lbfgs", {"standardize": True}),
    ("lbfgs", {"class_weight": "balanced"}),
    ("lbfgs", {"l1_ratio": 0.5}),
    ("gd", {"max_iter": 5}),
    ("mixing", {"max_iter": 3}),
])
def test_wide_models_are_the_same_with_r_reducers(wide, solver, options):
    path = wide[0]
    models = []
    for reducers in (1, 4):
        with Runner("inline", reducers=reducers) as r:
            models.append(train(TrainConfig("logistic", [path], l2=1e-3, n_features=D,
                                            solver=solver, **options), r))
    assert models[0]["n_passes"] == models[1]["n_passes"]
    np.testing.assert_allclose(theta_of(models[1]), theta_of(models[0]), rtol=1e-12,
                               atol=1e-15)


def test_giant_with_reducers_reaches_sklearns_optimum(wide):
    path, X, y = wide
    with Runner("inline", reducers=5) as r:
        model = train(TrainConfig("logistic", [path], l2=1e-3, n_features=D, tol=1e-12), r)
    assert model["solver"] == "giant" and model["converged"]
    np.testing.assert_allclose(theta_of(model), sklearn_theta(X, y, 1e-3), atol=1e-6)


def test_wide_multiclass_is_the_same_with_r_reducers(wide_multiclass):
    thetas = []
    for reducers in (1, 3):
        with Runner("inline", reducers=reducers) as r:
            model = train(TrainConfig("logistic", [wide_multiclass], l2=1e-2,
                                      n_features=1024, max_iter=8), r)
        assert len(model["classes"]) == 3
        thetas.append(np.asarray(model["coef"]))
    np.testing.assert_allclose(thetas[1], thetas[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("algo,solver", [("logistic", "newton"), ("linear", "gd"),
                                         ("svm", "lbfgs")])
def test_dense_csv_models_are_the_same_with_reducers(tmp_path, algo, solver):
    X, y = make_classification(n_samples=1500, n_features=6, random_state=2)
    path = write_csv(tmp_path / "d.csv", y, X)
    models = []
    for reducers in (None, 3):
        with Runner("inline", reducers=reducers) as r:
            models.append(train(TrainConfig(algo, [path], solver=solver, l2=1e-2,
                                            max_iter=6), r))
    np.testing.assert_allclose(theta_of(models[1]), theta_of(models[0]), rtol=1e-12,
                               atol=1e-15)


@pytest.mark.local_runner
def test_local_mappers_and_reducers_equal_inline(wide):
    """4 mappers and 3 reducers in task processes give the inline single-reducer model
    (L-BFGS: GIANT's directions depend on the splits)."""
    path = wide[0]
    config = TrainConfig("logistic", [path], l2=1e-3, n_features=D, max_iter=4, solver="lbfgs")
    with Runner("local", mappers=4, reducers=3) as r:
        local = train(config, r)
    with Runner("inline") as r:
        inline = train(config, r)
    np.testing.assert_allclose(theta_of(local), theta_of(inline), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("value", ["0", "-2", "x"])
def test_bad_reducers_are_refused_before_any_pass(wide, tmp_path, capsys, value):
    model = tmp_path / "m.json"
    with pytest.raises(SystemExit) as exit_info:
        run_cli("train", "--algo", "logistic", "--input", wide[0], "--n-features", D,
                "--model", model, "--reducers", value)
    assert exit_info.value.code == 2
    assert "--reducers" in capsys.readouterr().err
    assert not model.exists()


def test_cli_trains_with_reducers(wide, tmp_path):
    model = tmp_path / "m.json"
    assert run_cli("train", "--algo", "logistic", "--input", wide[0], "--n-features", D,
                   "--l2", "1e-3", "--model", model, "--reducers", "2", "-q") == 0
    assert run_cli("evaluate", "--model", model, "--input", wide[0], "--reducers", "2") == 0
