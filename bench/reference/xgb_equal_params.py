#!/usr/bin/python3
"""XGBoost hist at exactly shared/ml/gbt's parameters: the speed reference of the Go gradient boosting.

It fits XGBoost 1.7 (tree_method hist) on the ML-ready train.csv of `go run ./cmd/pipeline` with the
parameters of gbt.Params given as JSON (the Go benchmark BenchmarkFitVsXGBoost passes
json.Marshal(gbt.DefaultParams()); without --params the defaults below, copied from params.go, are used),
scores test.csv and prints one JSON line: the wall and CPU seconds of the fit (DMatrix construction,
which builds the quantile bins, plus training: what gbt.Fit does from its column matrix), the test
ROC-AUC and the parameters sent to XGBoost. On a busy machine run it with OMP_WAIT_POLICY=PASSIVE
(the Go benchmark does unless told otherwise): OpenMP threads spinning at every barrier while the other
one waits for a core made one fit take 544 s instead of 31 s.

Mapping: leaf-wise growth is XGBoost's lossguide policy (max_leaves, max_depth 0 = unbounded),
depth-wise its depthwise policy; learning_rate -> eta, min_child_weight, lambda, gamma, subsample,
colsample_bytree, max_bins -> max_bin (regular bins; both keep missing values apart), the base score
is the training rows' positive share as in gbt (base_proba when set), nthread as given (2).

Usage:
  /usr/bin/python3 bench/reference/xgb_equal_params.py --data DIR [--params JSON] [--threads 2]
"""

import argparse
import json
import os
import time

import numpy as np
import xgboost as xgb

DEFAULTS = {  # gbt.DefaultParams (shared/ml/gbt/params.go)
    "num_trees": 250,
    "learning_rate": 0.05,
    "max_depth": 0,
    "max_leaves": 255,
    "growth": "leafwise",
    "min_child_weight": 3,
    "lambda": 1,
    "gamma": 0,
    "subsample": 1,
    "colsample_bytree": 0.5,
    "max_bins": 255,
    "base_proba": 0,
    "seed": 1,
}


def read_csv(path, label="arrest"):
    """Reads an ML-ready CSV (features as floats, the label as true/false or 0/1)."""
    with open(path) as f:
        head = f.readline().strip().split(",")
    li = head.index(label)
    cols = [i for i in range(len(head)) if i != li]
    y = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=[li], dtype=str)
    y = np.isin(np.char.lower(y), ["true", "1", "1.0"]).astype(np.float32)
    X = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=cols, dtype=np.float64,
                      missing_values=["", "nan", "NaN"], filling_values=np.nan)
    return X, y


def roc_auc(y, p):
    """Mann-Whitney AUC with ties counted half."""
    order = np.argsort(p, kind="mergesort")
    ps = p[order]
    ranks = np.empty(len(p))
    i = 0
    while i < len(ps):
        j = i
        while j + 1 < len(ps) and ps[j + 1] == ps[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y.sum()
    neg = len(y) - pos
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def xgb_params(p, threads):
    if p["growth"] == "leafwise":
        policy = {"grow_policy": "lossguide", "max_leaves": p["max_leaves"], "max_depth": p["max_depth"]}
    else:
        policy = {"grow_policy": "depthwise", "max_depth": p["max_depth"], "max_leaves": p["max_leaves"]}
    return {
        "objective": "binary:logistic",
        "tree_method": "hist",
        **policy,
        "eta": p["learning_rate"],
        "min_child_weight": p["min_child_weight"],
        "lambda": p["lambda"],
        "gamma": p["gamma"],
        "subsample": p["subsample"],
        "colsample_bytree": p["colsample_bytree"],
        "max_bin": p["max_bins"],
        "nthread": threads,
        "seed": p["seed"],
        "eval_metric": "logloss",
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="directory holding train.csv and test.csv")
    ap.add_argument("--params", default="", help="gbt.Params as JSON (default: gbt.DefaultParams)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    p = dict(DEFAULTS)
    if a.params:
        p.update(json.loads(a.params))
    if p.get("validation_fraction") or p.get("early_stopping_rounds"):
        raise SystemExit("early stopping is not mirrored here")
    Xtr, ytr = read_csv(os.path.join(a.data, "train.csv"))
    Xte, yte = read_csv(os.path.join(a.data, "test.csv"))
    params = xgb_params(p, a.threads)
    params["base_score"] = p["base_proba"] or float(ytr.mean())

    t0, c0 = time.perf_counter(), time.process_time()
    dtrain = xgb.DMatrix(Xtr, label=ytr, nthread=a.threads)
    booster = xgb.train(params, dtrain, num_boost_round=p["num_trees"])
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0

    pred = booster.predict(xgb.DMatrix(Xte, nthread=a.threads))
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "test_auc": roc_auc(yte, pred), "rows": len(ytr),
                      "features": Xtr.shape[1], "xgboost": xgb.__version__, "params": params}))


if __name__ == "__main__":
    main()
