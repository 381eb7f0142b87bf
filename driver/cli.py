"""``mrlearn``: train, predict, evaluate, summary and demo from the command line.

Errors a user can cause end in one ``mrlearn: error: ...`` line (exit code 2); anything
else is our bug and keeps its traceback.
"""
import argparse
import json
import logging
import math
import os
import sys

import numpy as np

from driver.errors import MrlearnError
from driver.evaluate import evaluate
from driver.interrupts import catch_ctrl_c
from driver.inputs import DEFAULT_MAX_BAD_FRACTION, FORMATS
from driver.model import load_model, save_model
from driver.partition import METHODS, partition
from driver.passes import RUNNERS, SHARD_FEATURES, Runner
from driver.plot import check_plot, plot_path
from driver.predict import predict
from driver.prepare import prepare
from driver.summary import format_summary
from driver.kmeans import DEFAULT_N_INIT, INITS
from driver.table import DEFAULT_MAX_LEVELS, NA_MODES, TableOptions
from driver.locations import check_outputs
from driver.multiclass import KINDS
from driver.train import ALGOS, TrainConfig, train
from jobs.sgd import SCHEDULES

DEMO_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def finite_float(text):
    """argparse type: a finite number (``nan`` and ``inf`` are refused)."""
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError("must be a finite number, not %r" % text)
    return value


def fraction(text):
    """argparse type: a number in [0, 1]."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1, not %r" % text)
    return value


def positive_int(text):
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, not %r" % text)
    return value


def label_col(text):
    """argparse type: a 0-based column number, or ``none`` for rows without a label."""
    return "none" if text.lower() == "none" else int(text)


def _label_col(args):
    """``--label-col`` as the library takes it: "default" when not given, None for none."""
    return {None: "default", "none": None}.get(args.label_col, args.label_col)


class _Parser(argparse.ArgumentParser):
    """An option error is one line (exit 2) pointing at --help, not the whole usage."""

    def error(self, message):
        self.exit(2, "%s: error: %s (see %s --help)\n" % (self.prog, message, self.prog))


def _add_input_args(parser):
    parser.add_argument("--input", nargs="+", required=True, metavar="PATH",
                        help="CSV files, directories or globs (.gz/.bz2 fine); label in "
                             "--label-col, features in the other columns")
    parser.add_argument("--label-col", type=label_col,
                        help="0-based label column, or none (default: 0; k-means: none, every "
                             "column is a feature; predict: none when the rows have exactly "
                             "the model's features)")
    parser.add_argument("--header", choices=("auto", "yes", "no"), default="auto",
                        help="first line of each file is a header: auto-detect (default), yes, no")
    parser.add_argument("--format", choices=FORMATS, default="auto",
                        help="csv, libsvm (label index:value ...) or auto (default: from the "
                             "first line; packed output of `prepare` is always recognized)")
    parser.add_argument("--n-features", type=positive_int, help="libsvm: number of features (highest "
                                                       "1-based index)")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="skip and count malformed rows instead of stopping at the first")
    parser.add_argument("--max-bad-fraction", type=fraction, default=DEFAULT_MAX_BAD_FRACTION,
                        help="with --skip-bad-rows, fail when more than this fraction of rows "
                             "is malformed (default %(default)s)")
    _add_runner_args(parser)


def _add_runner_args(parser):
    parser.add_argument("-r", "--runner", choices=RUNNERS, default="inline",
                        help="mrjob runner (default inline)")
    parser.add_argument("--conf-path", help="mrjob.conf to use (default: none)")
    parser.add_argument("--mappers", type=positive_int, help="number of map tasks")
    parser.add_argument("--reducers", type=positive_int,
                        help="reduce tasks of a training pass, each summing one block of the "
                             "gradient (model parallel; default: one per %d features)"
                             % SHARD_FEATURES)
    parser.add_argument("--jobconf", action="append", default=[], metavar="KEY=VALUE",
                        help="Hadoop job configuration for every pass (repeatable)")
    parser.add_argument("--cluster-id", help="emr: run every pass on this existing cluster "
                                             "(none is created or terminated)")
    parser.add_argument("--keep-cluster", action="store_true",
                        help="emr: leave the cluster this command creates running")


def column_ref(text):
    """A column given by 0-based number (int) or by name (str)."""
    return int(text) if text.lstrip("-").isdigit() else text


def _add_weight_col_arg(parser):
    parser.add_argument("--weight-col", type=column_ref,
                        help="0-based column, or name, of row weights (>= 0; CSV and packed "
                             "input): weighted mean loss and metrics, as scikit-learn's "
                             "sample_weight")


def lambda_grid(text):
    """``--lambdas``: ``LO:HI:N`` (N log-spaced values from HI down to LO) or ``A,B,...``."""
    try:
        if ":" in text:
            low, high, count = text.split(":")
            return np.geomspace(float(high), float(low), int(count)).tolist()
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("LO:HI:N or a comma-separated list, not %r" % text)


def column_list(text):
    """A comma-separated list of column names or 0-based numbers."""
    return [c.strip() for c in text.split(",") if c.strip()]


def separator(text):
    """``--sep``: one of , ; | or a tab (``tab`` or ``\\t`` accepted)."""
    return {"tab": "\t", "\\t": "\t"}.get(text, text)


def _add_table_args(parser):
    group = parser.add_argument_group(
        "tables", "a CSV with text, quoted or missing values, another separator than ',' or "
        "any option below is read as a table: one schema pass first, the encoding kept in "
        "the model (see README, 'Your table as it is')")
    group.add_argument("--label", help="the label column by name (or 0-based number)")
    group.add_argument("--features", type=column_list, metavar="A,B,...",
                       help="feature columns (default: every column but the label and weight)")
    group.add_argument("--ignore", type=column_list, default=[], metavar="A,B,...",
                       help="columns to leave out")
    group.add_argument("--categorical", type=column_list, default=[], metavar="A,B,...",
                       help="columns whose values are levels even when they are numbers")
    group.add_argument("--na-values", type=lambda t: t.split(","), metavar="TOKENS",
                       help="comma-separated tokens meaning missing (default: empty, NA, N/A, "
                            "NaN, nan, null, NULL, None, ?)")
    group.add_argument("--max-levels", type=positive_int, default=DEFAULT_MAX_LEVELS,
                       help="levels kept per categorical column, the most frequent; the rest "
                            "encode as all zeros, as unseen ones (default %(default)s)")
    group.add_argument("--sep", type=separator, help="field separator: , ; | or tab (default: "
                       "detected)")
    group.add_argument("--na", choices=NA_MODES, default="impute",
                       help="a missing feature value: impute (column mean, or a level of its "
                            "own; default) or error (a bad row)")
    group.add_argument("--hash-categorical", type=positive_int, metavar="B",
                       help="hash text columns of more than --max-levels levels into 2^B shared "
                            "columns (signed, VW style) instead of keeping the most frequent")
    group.add_argument("--missing-indicator", action="store_true",
                       help="add a 0/1 column after each numeric feature with missing values")
    group.add_argument("--positive-class", help="text labels of two classes: the positive one "
                       "(default: the second in sorted order)")


def _table_options(args):
    """The table options of ``train``; a numeric ``--label`` is ``--label-col``."""
    if args.label is not None and args.label_col is not None:
        raise MrlearnError("give --label or --label-col, not both")
    if args.label is not None and args.label.isdigit():
        args.label_col, args.label = int(args.label), None
    return TableOptions(label=args.label, features=args.features, ignore=args.ignore,
                        categorical=args.categorical, na_values=args.na_values,
                        max_levels=args.max_levels, sep=args.sep,
                        positive_class=args.positive_class,
                        missing_indicator=args.missing_indicator, na=args.na,
                        hash_categorical=args.hash_categorical)


def build_parser():
    parser = _Parser(
        prog="mrlearn", description="Train linear models as Hadoop Streaming passes (mrjob).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model")
    p.add_argument("--algo", required=True, choices=sorted(ALGOS))
    p.add_argument("--model", required=True, help="where to write the model JSON")
    p.add_argument("--solver", help="linear: normal (default), newton, lbfgs, gd, sgd, mixing; "
                                    "logistic and svm: newton (default), lbfgs, gd, sgd, mixing")
    p.add_argument("--loss", choices=("hinge", "squared_hinge"),
                   help="svm loss (default squared_hinge; hinge with --solver gd)")
    p.add_argument("--multiclass", choices=KINDS, default="auto",
                   help="more than two classes: auto (default) trains multinomial logistic "
                   "regression or one-vs-rest svm; ovr also for logistic; multinomial or ovr "
                   "also for two classes")
    p.add_argument("--l2", type=finite_float, default=0.0, help="ridge penalty lambda: "
                   "objective = mean loss + lambda/2 ||w||^2 (default 0)")
    _add_weight_col_arg(p)
    _add_table_args(p)
    p.add_argument("--l1-ratio", type=fraction, default=0.0,
                   help="elastic net, l2 * (r |w|_1 + (1 - r) / 2 |w|^2): scikit-learn's "
                        "ElasticNet(alpha=l2, l1_ratio=r) (linear, normal: coordinate descent "
                        "on the one pass's R factor; 1: Lasso) and LogisticRegression(penalty="
                        "'elasticnet', C=1/(l2 n), l1_ratio=r) (logistic, svm, linear with "
                        "newton: proximal Newton; lbfgs or wide sparse input: OWL-QN). "
                        "Default 0: ridge")
    p.add_argument("--lambdas", type=lambda_grid, metavar="LO:HI:N|A,B,...",
                   help="linear (normal), logistic and svm (newton): the penalty path, N "
                        "log-spaced from HI down to LO, or a list; without it --cv uses 20 "
                        "from lambda_max (needs --l1-ratio)")
    p.add_argument("--cv", type=positive_int, metavar="K",
                   help="K-fold cross-validation of the path, in the passes of one fit (linear: "
                        "one pass); the model takes lambda_min")
    p.add_argument("--hash-features", type=positive_int, metavar="B",
                   help="libsvm: hash feature indices of any size into 2^B columns (signed, "
                        "as Vowpal Wabbit and Spark's FeatureHasher; instead of --n-features); "
                        "predict and evaluate hash as the model did")
    p.add_argument("--plot", metavar="PNG", help="with --lambdas or --cv: draw the CV curve "
                   "and the coefficient path into this PNG (needs matplotlib)")
    p.add_argument("--class-weight", help="logistic, svm: balanced (scikit-learn's n / (K n_c), "
                   "one more pass) or a JSON object of label: weight, e.g. '{\"0\": 1, \"1\": 5}' "
                   "(labels not listed weigh 1)")
    p.add_argument("--max-iter", type=positive_int, default=100, help="at most this many passes")
    p.add_argument("--tol", type=finite_float, help="lbfgs, gd, sgd, mixing: on the relative "
                   "change of the objective (default 1e-8); newton: stop when max |gradient| "
                   "and half the Newton decrement (the estimated gap to the optimum) are both "
                   "<= tol x the objective at the start (scikit-learn's rule; default 1e-6); "
                   "kmeans: on the squared center shift over the mean feature variance "
                   "(default 1e-4, as scikit-learn)")
    p.add_argument("--step-size", type=finite_float, help="gd: fixed step instead of backtracking")
    p.add_argument("--k", type=int, help="kmeans: number of clusters")
    p.add_argument("--init", default="k-means||", choices=INITS,
                   help="kmeans initialization (default k-means||, 4 passes)")
    p.add_argument("--n-init", type=int, default=DEFAULT_N_INIT,
                   help="kmeans: restarts, advanced together in the same passes; the run stops "
                   "when the best has converged (default %d)" % DEFAULT_N_INIT)
    p.add_argument("--seed", type=int, default=0, help="kmeans, sgd, mixing: random seed "
                                                        "(default 0)")
    p.add_argument("--batch-fraction", type=finite_float, default=0.1,
                   help="sgd: fraction of rows sampled per pass (default 0.1)")
    p.add_argument("--schedule", choices=SCHEDULES, help="sgd, mixing: learning rate (default "
                   "optimal = 1/(l2 (t0 + t)) with --l2 > 0, else invscaling)")
    p.add_argument("--eta0", type=finite_float, help="sgd, mixing: initial learning rate "
                                              "(default 0.3 for sgd, 0.003 for mixing)")
    p.add_argument("--power-t", type=finite_float, default=0.5, help="invscaling exponent")
    p.add_argument("--average", action="store_true", help="sgd: keep the mean of the iterates")
    p.add_argument("--local-epochs", type=int, default=1,
                   help="mixing: SGD epochs over each split per pass (default 1)")
    p.add_argument("--batch-size", type=int, default=32,
                   help="mixing: rows per local SGD step (default 32)")
    p.add_argument("--checkpoint-dir", help="write the run state here after every pass")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-pass progress")
    _add_input_args(p)

    p.add_argument("--standardize", action="store_true",
                   help="train on standardized features (CSV: needs `mrlearn prepare` "
                        "output; libsvm: each feature divided by its standard deviation, "
                        "not centered); coefficients are reported in the original units")

    p = sub.add_parser("prepare", help="validate and pack the input once, with column "
                                       "statistics, so later passes need no text parsing")
    p.add_argument("--output", required=True, help="directory to create")
    p.add_argument("--parts", type=positive_int, help="number of packed part files (default: one "
                                             "per input file)")
    _add_input_args(p)
    _add_table_args(p)

    p = sub.add_parser("partition", help="split the rows into exactly N part files")
    p.add_argument("--output", required=True, help="directory to create")
    p.add_argument("--parts", type=positive_int, required=True)
    p.add_argument("--by", choices=METHODS, required=True)
    p.add_argument("--key-col", type=int, help="0-based key column (hash: default the whole "
                                               "row; range: required)")
    p.add_argument("--seed", type=int, default=0)
    _add_input_args(p)

    p = sub.add_parser("predict", help="write predictions, one line per input row")
    p.add_argument("--model", required=True)
    p.add_argument("--output", required=True, help="directory to create for part files")
    _add_weight_col_arg(p)
    _add_input_args(p)

    p = sub.add_parser("evaluate", help="metrics of a model on labelled data (one pass)")
    p.add_argument("--model", required=True)
    p.add_argument("--json", action="store_true", help="print metrics as JSON")
    _add_weight_col_arg(p)
    _add_input_args(p)

    p = sub.add_parser("summary", help="coefficient table (standard errors, p-values, "
                                       "intervals) stored in a model file")
    p.add_argument("model", metavar="MODEL.json")

    p = sub.add_parser("plot", help="draw the CV curve and coefficient path of a model "
                                    "trained with --lambdas or --cv (needs matplotlib)")
    p.add_argument("model", metavar="MODEL.json")
    p.add_argument("--output", required=True, metavar="PNG")

    p = sub.add_parser("demo", help="train and evaluate logistic regression on a shipped "
                                    "dataset (breast cancer, 569 rows)")
    p.add_argument("--model", default="mrlearn-demo-model.json")
    _add_runner_args(p)
    return parser


def _runner(args):
    jobconf = {}
    for item in args.jobconf:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise MrlearnError("--jobconf takes KEY=VALUE, not %r" % item)
        jobconf[key] = value
    return Runner(args.runner, args.conf_path, args.mappers, jobconf, args.cluster_id,
                  args.keep_cluster, args.reducers)


def _print_pass(entry):
    shown = ["pass %3d" % entry["pass"]]
    if "phase" in entry:
        shown.append("%-10s" % entry["phase"])
    if entry.get("objective") is not None:
        shown.append("objective %.10g" % entry["objective"])
    for key, fmt in (("grad_norm", "|grad| %.3e"), ("step", "step %-8.3g"), ("sample", "sample %d"),
                     ("center_shift", "shift %.3e"), ("candidates", "candidates %d"),
                     ("reseeded", "reseeded %d"), ("n_nonzero", "nonzero %d"),
                     ("running", "models %d")):
        if entry.get(key):
            shown.append(fmt % entry[key])
    if entry.get("accepted") is False:
        shown.append("(no step)")
    shown.append("%.2fs" % entry["seconds"])
    print("  ".join(shown), file=sys.stderr)


def cmd_train(args):
    table = _table_options(args)
    config = TrainConfig(args.algo, args.input, solver=args.solver, loss=args.loss, l2=args.l2,
                         tol=args.tol, max_iter=args.max_iter, step_size=args.step_size,
                         label_col=_label_col(args), header=args.header,
                         skip_bad_rows=args.skip_bad_rows,
                         max_bad_fraction=args.max_bad_fraction,
                         standardize=args.standardize, format=args.format,
                         n_features=args.n_features, k=args.k, init=args.init,
                         n_init=args.n_init, seed=args.seed, batch_fraction=args.batch_fraction,
                         schedule=args.schedule, eta0=args.eta0, power_t=args.power_t,
                         average=args.average, local_epochs=args.local_epochs,
                         batch_size=args.batch_size, multiclass=args.multiclass,
                         weight_col=args.weight_col, class_weight=args.class_weight,
                         table=table, l1_ratio=args.l1_ratio, lambdas=args.lambdas,
                         cv=args.cv, hash_features=args.hash_features)
    if args.plot:
        check_plot(config.lambdas is not None)
    with _runner(args) as runner:  # URIs are checked with the runner's S3 settings
        check_outputs(args.input, model=args.model, checkpoint_dir=args.checkpoint_dir,
                      plot=args.plot)
        model = train(config, runner, args.checkpoint_dir, args.resume,
                      None if args.quiet else _print_pass)
        save_model(args.model, model)  # with the runner's S3 settings
    if model.get("cv"):
        print(format_cv(model), file=sys.stderr)
    if args.plot:
        plot_path(model, args.plot)
    print("%s/%s: %s after %d pass(es), objective %.10g; model written to %s%s" % (
        model["algo"], model["solver"], model["stop_reason"], model["n_passes"],
        model["objective"], args.model, _skipped(model["bad_rows"])
        + ("; %d row(s) without a label skipped" % model["missing_labels"]
           if model.get("missing_labels") else "")))
    return model


def format_cv(model):
    """The cross-validation table of a path model (as cv.glmnet prints it)."""
    cv, path = model["cv"], model["path"]
    accuracy = cv.get("accuracy")
    lines = ["%d-fold cross-validation, held-out %s:" % (cv["folds"], cv["measure"]),
             "%12s %14s %12s %9s%s" % ("lambda", "cv mean", "std err", "nonzero",
                                       " %9s" % "accuracy" if accuracy else "")]
    for i, lam in enumerate(path["lambdas"]):
        mark = " <- lambda_min" if lam == cv["lambda_min"] else (
            " <- lambda_1se" if lam == cv["lambda_1se"] else "")
        lines.append("%12.5g %14.6g %12.4g %9d%s%s" % (
            lam, cv["cvm"][i], cv["cvsd"][i], path["n_nonzero"][i],
            " %9.4f" % accuracy[i] if accuracy else "", mark))
    return "\n".join(lines)


def cmd_predict(args):
    model = load_model(args.model)
    with _runner(args) as runner:
        bad = predict(model, args.input, args.output, runner, _label_col(args), args.header,
                      args.skip_bad_rows, args.max_bad_fraction, args.weight_col)
    print("predictions written to %s%s" % (args.output, _skipped(bad)))


def cmd_evaluate(args):
    model = load_model(args.model)
    with _runner(args) as runner:
        metrics = evaluate(model, args.input, runner, _label_col(args), args.header,
                           args.skip_bad_rows, args.max_bad_fraction, args.weight_col)
    if args.json:
        print(json.dumps(metrics))
    else:
        for name, value in metrics.items():
            print("%-20s %s" % (name, "%.6g" % value if isinstance(value, float) else value))
    return metrics


def cmd_prepare(args):
    with _runner(args) as runner:
        table = _table_options(args)
        stats = prepare(args.input, args.output, runner, args.parts, args.header,
                        args.skip_bad_rows, args.max_bad_fraction, args.format, args.n_features,
                        table, None if args.label_col in (None, "none") else args.label_col)
    print("%d rows packed into %s%s" % (stats["rows"], args.output, _skipped(stats["bad_rows"])))


def cmd_partition(args):
    with _runner(args) as runner:
        summary = partition(args.input, args.output, args.parts, args.by, runner, args.key_col,
                            args.seed, args.header, args.skip_bad_rows, args.max_bad_fraction,
                            args.format, args.n_features)
    print("%d rows written to %d part files in %s%s" % (summary["n"], args.parts, args.output,
                                                       _skipped(summary["bad_rows"])))


def _skipped(bad_rows):
    return "; %d bad row(s) skipped" % bad_rows if bad_rows else ""


def cmd_summary(args):
    print(format_summary(load_model(args.model), args.model))


def cmd_plot(args):
    model = load_model(args.model)
    check_plot("path" in model)
    check_outputs([args.model], plot=args.output)
    plot_path(model, args.output)
    print("plot written to %s" % args.output)


def cmd_demo(args):
    train_csv = os.path.join(DEMO_DATA, "breast_cancer_train.csv.gz")
    test_csv = os.path.join(DEMO_DATA, "breast_cancer_test.csv.gz")
    print("mrlearn demo: logistic regression (Newton) on the breast cancer data, %s runner"
          % args.runner, file=sys.stderr)
    common = ["-r", args.runner, "--model", args.model]
    if args.conf_path:
        common += ["--conf-path", args.conf_path]
    cmd_train(build_parser().parse_args(
        ["train", "--algo", "logistic", "--l2", "1e-3", "--input", train_csv] + common))
    print("held-out metrics (%s):" % os.path.basename(test_csv))
    cmd_evaluate(build_parser().parse_args(["evaluate", "--input", test_csv] + common))


COMMANDS = {"train": cmd_train, "predict": cmd_predict, "evaluate": cmd_evaluate,
            "prepare": cmd_prepare, "partition": cmd_partition, "summary": cmd_summary,
            "plot": cmd_plot, "demo": cmd_demo}


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("mrjob.conf").setLevel(logging.ERROR)  # "no configs" on every pass
    restore_ctrl_c = catch_ctrl_c()
    try:
        with np.errstate(all="ignore"):  # non-finite results are checked, not warned about
            COMMANDS[args.command](args)
    except MrlearnError as e:
        print("mrlearn: error: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mrlearn: interrupted; no model was written, --checkpoint-dir holds the last "
              "finished pass (--resume continues from it), and an --output directory this "
              "command created was removed", file=sys.stderr)
        return 130
    finally:
        restore_ctrl_c()
    return 0


if __name__ == "__main__":
    sys.exit(main())
