"""k-means: kernels, initialization pass counts, quality against scikit-learn, restarts."""
import json
import os

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from conftest import interrupted_and_straight, run_cli, write_csv
from driver.kmeans import KMeansSolver
from driver.inputs import describe_inputs
from driver.model import load_model, to_sklearn
from driver.passes import Runner, run_pass
from driver.train import TrainConfig, train
from jobs.clustering import (adjusted_rand_index, contingency, lloyd_sums, merge_top, nearest,
                             oversample, row_uniforms, top_list)


def features_csv(path, X):
    with open(path, "w") as f:
        np.savetxt(f, X, delimiter=",", fmt="%.17g")
    return str(path)


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    X = load_iris().data
    return features_csv(tmp_path_factory.mktemp("km") / "iris.csv", X), X


def kmeans(path, runner="inline", mappers=None, **options):
    with Runner(runner, mappers=mappers) as r:
        return train(TrainConfig("kmeans", [path], **options), r)


def init_passes(model):
    return sum(h["phase"] != "lloyd" for h in model["history"])


# --- kernels --------------------------------------------------------------------------------

def test_row_uniforms_depend_on_row_values_only():
    X = np.random.default_rng(0).standard_normal((5000, 3))
    u = row_uniforms(X, seed=7, stream=1)
    np.testing.assert_array_equal(u[1000:2000], row_uniforms(X[1000:2000], 7, 1))
    np.testing.assert_array_equal(u[::-1], row_uniforms(X[::-1], 7, 1))
    assert not np.array_equal(u, row_uniforms(X, 7, 2))
    assert not np.array_equal(u, row_uniforms(X, 8, 1))
    assert abs(u.mean() - 0.5) < 0.02 and u.min() >= 0 and u.max() < 1
    assert len(np.unique(u)) == len(u)
    assert row_uniforms(np.array([[-0.0, 1.0]]), 1, 1) == row_uniforms(np.array([[0.0, 1.0]]), 1, 1)


def test_nearest_and_lloyd_sums_by_brute_force():
    rng = np.random.default_rng(1)
    X, C = rng.standard_normal((300, 4)), rng.standard_normal((5, 4))
    brute = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    labels, d2 = nearest(X, C)
    np.testing.assert_array_equal(labels, brute.argmin(axis=1))
    np.testing.assert_allclose(d2, brute.min(axis=1), rtol=1e-10, atol=1e-12)
    counts, sums, inertia, far = lloyd_sums(X, C, n_far=3)
    for j in range(5):
        assert counts[j] == np.sum(labels == j)
        np.testing.assert_allclose(sums[j], X[labels == j].sum(axis=0), rtol=1e-12)
    assert inertia == pytest.approx(brute.min(axis=1).sum(), rel=1e-12)
    farthest = np.argsort(-brute.min(axis=1))[:3]
    np.testing.assert_allclose([item[1:] for item in far[1]], X[farthest])


def test_top_lists_merge_like_one_list():
    X = np.random.default_rng(2).standard_normal((100, 2))
    scores = X[:, 0]
    whole = top_list(scores, X, 5)
    parts = merge_top(top_list(scores[:37], X[:37], 5), top_list(scores[37:], X[37:], 5))
    assert whole == parts
    np.testing.assert_allclose([i[0] for i in whole[1]], np.sort(scores)[::-1][:5])


def test_oversampling_keeps_a_superset_of_the_exact_k_means_parallel_sample():
    rng = np.random.default_rng(3)
    X, C = rng.standard_normal((20000, 2)), rng.standard_normal((1, 2))
    u = row_uniforms(X, 0, 1)
    ell = 6.0
    cost, kept = 0.0, np.empty((0, 4))
    for lo in range(0, len(X), 4096):
        cost, kept = oversample(X[lo:lo + 4096], C, u[lo:lo + 4096], ell, cost, kept)
    d2 = nearest(X, C)[1]
    assert cost == pytest.approx(d2.sum(), rel=1e-12)
    exact = X[u * d2.sum() < ell * d2]
    chosen = kept[kept[:, 0] * cost < ell * kept[:, 1]][:, 2:]
    assert sorted(map(tuple, chosen)) == sorted(map(tuple, exact))
    assert 1 <= len(exact) <= 20 and len(kept) < 40  # about ell kept, not the split


def test_adjusted_rand_index_matches_sklearn():
    rng = np.random.default_rng(4)
    clusters, labels = rng.integers(0, 4, 500), rng.integers(0, 3, 500).astype(float)
    clusters[:200] = labels[:200]
    table = contingency(clusters, labels)
    assert adjusted_rand_index(table) == pytest.approx(adjusted_rand_score(labels, clusters), abs=1e-12)


def test_empty_cluster_is_reseeded_from_the_farthest_row():
    solver = KMeansSolver(2, 1e-4, k=2, init="random", n_init=1)
    solver.phase, solver.tol_scaled = "lloyd", 1e-6
    solver.sets = [[[0.0, 0.0], [100.0, 100.0]]]
    record = {"counts": [[3.0, 0.0]], "sums": [[[3.0, 3.0], [0.0, 0.0]]], "inertia": [10.0],
              "far_top": [[2, [[9.0, 3.0, 0.0], [1.0, 0.0, 1.0]]]]}
    info = solver.update(record)
    assert info["reseeded"] == 1 and not solver.done
    assert solver.sets[0] == [[1.0, 1.0], [3.0, 0.0]]
    assert np.all(np.isfinite(solver.sets[0]))


# --- training ---------------------------------------------------------------------------------

def test_iris_reaches_sklearns_inertia_and_centers(iris):
    path, X = iris
    model = kmeans(path, k=3, n_init=10, seed=0)
    assert model["inertia"] == pytest.approx(78.851441, abs=1e-4)
    sk = KMeans(3, n_init=10, random_state=0).fit(X)
    ours = np.array(model["cluster_centers"])
    order = [int(np.argmin(((sk.cluster_centers_ - c) ** 2).sum(axis=1))) for c in ours]
    np.testing.assert_allclose(ours, sk.cluster_centers_[order], rtol=1e-6)
    assert init_passes(model) == 4 and model["n_passes"] <= 4 + 10


@pytest.mark.parametrize("name,k,limit", [("wine", 3, 1.001), ("digits", 10, 1.01)])
def test_quality_against_the_best_of_ten_sklearn_restarts(name, k, limit, tmp_path):
    X = (StandardScaler().fit_transform(load_wine().data) if name == "wine"
         else load_digits().data)
    path = features_csv(tmp_path / (name + ".csv"), X)
    best = KMeans(k, n_init=10, random_state=0).fit(X).inertia_
    model = kmeans(path, k=k, n_init=5, seed=0)
    assert model["inertia"] <= limit * best
    # what the model says equals what the centers give
    assert model["inertia"] == pytest.approx(
        nearest(X, np.array(model["cluster_centers"]))[1].sum(), rel=1e-9)


@pytest.mark.parametrize("init,expected", [("k-means||", 4), ("k-means++", 3), ("random", 1)])
def test_initialization_pass_counts(iris, init, expected):
    model = kmeans(iris[0], k=3, init=init, seed=1)
    assert init_passes(model) == expected
    assert model["converged"]


def test_restarts_cost_no_extra_initialization_passes(iris):
    one = [kmeans(iris[0], k=3, seed=s) for s in range(3)]
    five = kmeans(iris[0], k=3, n_init=5, seed=0)
    assert init_passes(five) == 4
    lloyd_passes = [m["n_passes"] - 4 for m in one]
    assert five["n_passes"] - 4 <= max(15, max(lloyd_passes) + 5)
    assert five["inertia"] <= min(m["inertia"] for m in one) + 1e-9
    assert five["init_inertias"][five["best_init"]] == five["inertia"]


def test_centers_do_not_depend_on_the_number_of_mappers(iris):
    one = kmeans(iris[0], k=3, n_init=2, seed=3, mappers=1)
    four = kmeans(iris[0], k=3, n_init=2, seed=3, mappers=4)
    assert one["n_passes"] == four["n_passes"]
    np.testing.assert_allclose(one["cluster_centers"], four["cluster_centers"], rtol=1e-12)


def test_kmeans_resumes_to_the_same_centers(iris, tmp_path):
    config = TrainConfig("kmeans", [iris[0]], k=3, n_init=3, seed=5)
    resumed, straight = interrupted_and_straight(config, str(tmp_path / "ckpt"), 3)
    assert resumed["cluster_centers"] == straight["cluster_centers"]


def test_cli_predict_and_evaluate_with_labels(tmp_path, capsys):
    data = load_iris()
    labelled = write_csv(tmp_path / "iris_labelled.csv", data.target, data.data)
    model = str(tmp_path / "km.json")
    assert run_cli("train", "--algo", "kmeans", "--k", "3", "--n-init", "4", "--label-col", "0",
                   "--input", labelled, "--model", model, "-q") == 0
    out = str(tmp_path / "pred")
    assert run_cli("predict", "--model", model, "--input", labelled, "--label-col", "0",
                   "--output", out) == 0
    parts = sorted(p for p in os.listdir(out) if p.startswith("part-"))
    rows = [l.split(",") for p in parts for l in open(os.path.join(out, p)).read().splitlines()]
    est = to_sklearn(load_model(model))
    clusters = est.predict(data.data)
    np.testing.assert_array_equal([int(r[0]) for r in rows], clusters)
    np.testing.assert_allclose([float(r[1]) for r in rows],
                               np.sqrt(nearest(data.data, est.cluster_centers_)[1]), rtol=1e-9)
    capsys.readouterr()
    assert run_cli("evaluate", "--model", model, "--input", labelled, "--label-col", "0",
                   "--json") == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["adjusted_rand_index"] == pytest.approx(
        adjusted_rand_score(data.target, clusters), abs=1e-12)
    assert metrics["cluster_sizes"] == np.bincount(clusters, minlength=3).tolist()
    assert metrics["inertia"] == pytest.approx(-est.score(data.data), rel=1e-9)


def test_k_larger_than_the_data_is_a_clear_error(tmp_path, capsys):
    path = features_csv(tmp_path / "tiny.csv", np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert run_cli("train", "--algo", "kmeans", "--k", "5", "--init", "random", "--input", path,
                   "--model", str(tmp_path / "m.json")) == 2
    assert "--k 5 is more than the 2 distinct rows" in capsys.readouterr().err


def test_libsvm_input_clusters_like_the_same_rows_in_csv(iris, tmp_path):
    from sklearn.datasets import dump_svmlight_file
    path, X = iris
    svm = str(tmp_path / "iris.svm")
    dump_svmlight_file(X, load_iris().target, svm, zero_based=False)
    from_svm = kmeans(svm, k=3, seed=2, format="libsvm", n_features=4)
    from_csv = kmeans(path, k=3, seed=2)
    assert from_svm["n_features"] == 4 and from_svm["n_passes"] == from_csv["n_passes"]
    np.testing.assert_allclose(from_svm["cluster_centers"], from_csv["cluster_centers"],
                               rtol=1e-12)


@pytest.mark.parametrize("init,least", [("k-means||", 5), ("k-means++", 4), ("random", 2)])
def test_max_iter_below_the_initialization_is_refused_up_front(init, least, tmp_path, capsys):
    path = features_csv(tmp_path / "x.csv", np.random.default_rng(0).standard_normal((30, 2)))
    model = tmp_path / "m.json"
    assert run_cli("train", "--algo", "kmeans", "--k", "3", "--init", init, "--max-iter",
                   least - 1, "--input", path, "--model", model) == 2
    err = capsys.readouterr().err
    assert "--max-iter %d is too few" % (least - 1) in err and "--max-iter %d or more" % least in err
    assert len(err.strip().splitlines()) == 1 and not model.exists()
    assert run_cli("train", "--algo", "kmeans", "--k", "3", "--init", init, "--max-iter", least,
                   "--input", path, "--model", model, "-q") == 0


def few_values(path):
    """Six distinct rows held by 100, 50, 20, 5, 2 and 1 rows: (CSV path, X)."""
    X = np.repeat(np.random.default_rng(0).standard_normal((6, 2)), [100, 50, 20, 5, 2, 1], axis=0)
    return features_csv(path, X), X


def test_kmeans_parallel_stopped_while_filling_candidates_says_resume(tmp_path, capsys):
    # few distinct values: k-means|| oversampling finds fewer than k candidates and picks
    # the rest, one pass each (two with seed 3)
    path, model, ckpt = few_values(tmp_path / "x.csv")[0], tmp_path / "m.json", tmp_path / "c"
    args = ["train", "--algo", "kmeans", "--k", "5", "--seed", "3", "--input", path, "--model",
            model, "--checkpoint-dir", ckpt, "-q"]
    assert run_cli(*args, "--max-iter", 5) == 2
    err = capsys.readouterr().err
    assert "stopped inside its k-means|| initialization" in err and "--resume" in err
    assert len(err.strip().splitlines()) == 1 and not model.exists()
    assert run_cli(*args, "--max-iter", 30, "--resume") == 0
    straight = kmeans(path, k=5, seed=3, max_iter=30)
    assert init_passes(straight) > 4
    assert load_model(str(model))["cluster_centers"] == straight["cluster_centers"]


def first_centers(path, k, seed, mappers):
    """The solver's center sets after the first pass of a random-init run."""
    spec = describe_inputs([path], None)
    solver = KMeansSolver(spec.n_features, 1e-4, k=k, init="random", n_init=2, seed=seed)
    with Runner("inline", mappers=mappers) as runner:
        record = run_pass(solver.job, dict(spec.params(), scale=None, **solver.pass_params()),
                          spec.files, runner)
    solver.update(record)
    return solver.sets


def test_random_init_picks_k_distinct_rows_whatever_the_split(tmp_path):
    values = np.random.default_rng(0).standard_normal((6, 2))
    X = np.repeat(values, [100, 50, 20, 5, 2, 1], axis=0)
    path = features_csv(tmp_path / "dups.csv", X[np.random.default_rng(1).permutation(len(X))])
    for seed in range(21):
        sets = first_centers(path, 5, seed, mappers=1)
        for centers in sets:
            assert len(centers) == 5 and len({tuple(c) for c in centers}) == 5
            assert all(np.any(np.all(values == c, axis=1)) for c in centers)
        assert first_centers(path, 5, seed, mappers=3) == sets
    one, three = (kmeans(path, k=5, init="random", seed=4, mappers=m) for m in (1, 3))
    assert one["n_passes"] == three["n_passes"]  # Lloyd sums add in another order: rounding
    np.testing.assert_allclose(one["cluster_centers"], three["cluster_centers"], rtol=1e-12)


def test_random_init_with_fewer_distinct_rows_than_k_is_a_clear_error(tmp_path, capsys):
    path = features_csv(tmp_path / "dups.csv", np.repeat([[0.0, 1.0], [2.0, 3.0]], 20, axis=0))
    model = tmp_path / "m.json"
    assert run_cli("train", "--algo", "kmeans", "--k", "3", "--init", "random", "--input", path,
                   "--model", model) == 2
    err = capsys.readouterr().err
    assert "--k 3 is more than the 2 distinct rows" in err and len(err.strip().splitlines()) == 1
    assert not model.exists()


def test_kmeans_parallel_on_few_distinct_values_fills_its_candidates(tmp_path):
    path, X = few_values(tmp_path / "x.csv")
    best = KMeans(5, n_init=10, random_state=0).fit(X).inertia_
    for seed in range(8):
        model = kmeans(path, k=5, seed=seed)
        assert len({tuple(c) for c in model["cluster_centers"]}) == 5
        assert model["inertia"] == pytest.approx(best, rel=1e-9)


@pytest.mark.parametrize("init", ["k-means||", "k-means++"])
def test_fewer_distinct_rows_than_k_is_a_clear_error_for_every_init(init, tmp_path, capsys):
    path = features_csv(tmp_path / "dups.csv", np.repeat([[0.0, 1.0], [2.0, 3.0]], 20, axis=0))
    assert run_cli("train", "--algo", "kmeans", "--k", "3", "--init", init, "--input", path,
                   "--model", tmp_path / "m.json", "-q") == 2
    err = capsys.readouterr().err
    assert "--k 3 is more than the 2 distinct rows" in err and len(err.strip().splitlines()) == 1


def test_default_restarts_reach_sklearns_best_of_ten_in_one_restarts_passes(tmp_path):
    """Issue 16's bar, seeds 0-4: iris at the optimum (78.8515), wine (standardized) within
    1.001x and digits within 1.01x of KMeans(n_init=10), in at most the median passes of
    one restart plus 2."""
    from bench.kmeans_restarts import datasets, reference_inertia, runs
    bound = {"iris": 1.0000001, "wine": 1.001, "digits": 1.01}
    for name, X, k in datasets():
        path = features_csv(tmp_path / (name + ".csv"), X)
        best = reference_inertia(X, k)
        default, one = runs(path, k), runs(path, k, n_init=1)
        assert max(i for i, _ in default) <= bound[name] * best, name
        assert max(p for _, p in default) <= np.median([p for _, p in one]) + 2, name


def test_pruned_and_converged_restarts_leave_the_pass():
    """A Lloyd pass evaluates only live sets; a set 2 % above the best is dropped from the
    third Lloyd pass on, and the run stops when the best set has converged."""
    solver = KMeansSolver(1, 1e-4, k=1, init="random", n_init=3)
    solver.phase, solver.tol_scaled, solver.round = "lloyd", 1e-6, 2
    solver.sets = [[[0.0]], [[1.0]], [[2.0]]]

    def lloyd(centers, inertia):  # one row per set, at ``centers``
        return {"counts": [[1.0]] * len(centers), "sums": [[[c]] for c in centers],
                "inertia": inertia, "far_top": [[1, []]] * len(centers)}
    solver.update(lloyd([0.0, 1.5, 2.5], [10.0, 10.1, 11.0]))  # set 0 converged, 2 dropped
    assert solver.converged == [True, False, False] and solver.dropped == [False, False, True]
    assert not solver.done and solver.pass_params()["sets"] == [[[1.5]]]
    solver.update(lloyd([1.5], [9.0]))   # set 1 converged below set 0
    assert solver.done and solver.model_fields()["best_init"] == 1
    assert solver.stop_reason == "best restart converged"
