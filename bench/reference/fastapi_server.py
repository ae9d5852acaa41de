#!/usr/bin/python3
"""Seed-shaped FastAPI server: the serving side of the Python reference, for the predict benchmark.

It serves as the seed's API did (docs: /work/shared/reference/seed-pipeline.md, step 12): an XGBoost classifier
behind FastAPI + uvicorn with a single worker, `POST /predict` taking the already-encoded features (the columns of
the ml-ready train.csv that bench/reference/seed_recipe.py writes, 7-9 floats) and answering
`{"prediction", "probability", "model_version"}`; also `POST /predict/batch` (at most 1000), `GET /model/info`
and `GET /health`. The model is the seed's timing row: 200 trees, depth 8, hist. It is loaded from --model, or
trained on --train and saved there when --model does not exist yet. Per request it builds a one-row pandas
DataFrame and calls predict_proba, as a model served through MLflow's pyfunc does; `--input numpy` skips pandas
(a faster variant, not the seed's shape).

Usage:
  /usr/bin/python3 bench/reference/fastapi_server.py --train DIR/train.csv --model DIR/xgb_serving.json \
      [--host 127.0.0.1] [--port 8800] [--input dataframe|numpy] [--access-log]

Needs Debian's python3-fastapi, python3-uvicorn, python3-xgboost, python3-pandas.
"""

import argparse
import hashlib
import json
import os
import sys
import time
from typing import List

import numpy as np
import pandas as pd
import xgboost as xgb
from fastapi import FastAPI, HTTPException
from pydantic import create_model

SEED = 42
MAX_BATCH = 1000


def log(**kw):
    kw.setdefault("time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    print(json.dumps(kw), file=sys.stderr, flush=True)


def train_model(train_csv, model_path, threads):
    df = pd.read_csv(train_csv)
    if "arrest" not in df.columns:
        raise SystemExit(f"{train_csv}: no 'arrest' column; expected seed_recipe.py's ml-ready train.csv")
    X, y = df.drop(columns=["arrest"]), df["arrest"].astype(int)
    t0 = time.perf_counter()
    clf = xgb.XGBClassifier(
        n_estimators=200, max_depth=8, tree_method="hist", n_jobs=threads, random_state=SEED,
    )
    clf.fit(X, y)
    seconds = time.perf_counter() - t0
    tmp = model_path + ".tmp.json"
    clf.save_model(tmp)
    os.replace(tmp, model_path)
    meta = {"features": list(X.columns), "train_rows": int(len(df)), "train_seconds": round(seconds, 3),
            "train_csv": os.path.abspath(train_csv)}
    with open(model_path + ".meta.json", "w") as f:
        json.dump(meta, f, indent=2)
    log(msg="trained", rows=len(df), features=list(X.columns), seconds=round(seconds, 3), model=model_path)
    return clf, meta


def load_model(model_path):
    clf = xgb.XGBClassifier()
    clf.load_model(model_path)
    meta_path = model_path + ".meta.json"
    meta = {}
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
    features = meta.get("features") or clf.get_booster().feature_names
    if not features:
        raise SystemExit(f"{model_path}: no feature names in the model or {meta_path}")
    meta["features"] = list(features)
    log(msg="loaded", features=meta["features"], model=model_path)
    return clf, meta


def model_version(model_path):
    h = hashlib.sha256()
    with open(model_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "xgb-" + h.hexdigest()[:12]


def build_app(clf, meta, version, input_kind):
    features = meta["features"]
    # The request body: one float per encoded feature, all required, as the seed's pydantic model.
    Features = create_model("CrimeFeatures", **{name: (float, ...) for name in features})
    Batch = create_model("CrimeFeaturesBatch", instances=(List[Features], ...))
    booster = clf.get_booster()
    app = FastAPI(title="seed-shaped arrest prediction (benchmark reference)")

    if input_kind == "numpy":
        def probabilities(rows):
            arr = np.asarray([[getattr(r, f) for f in features] for r in rows], dtype=np.float32)
            return booster.inplace_predict(arr)
    else:
        def probabilities(rows):
            frame = pd.DataFrame([r.dict() for r in rows], columns=features)
            return clf.predict_proba(frame)[:, 1]

    def answer(p):
        p = float(p)
        return {"prediction": int(p >= 0.5), "probability": p, "model_version": version}

    @app.post("/predict")
    async def predict(body: Features):
        return answer(probabilities([body])[0])

    @app.post("/predict/batch")
    async def predict_batch(body: Batch):
        if len(body.instances) > MAX_BATCH:
            raise HTTPException(status_code=400, detail=f"at most {MAX_BATCH} instances per request")
        if not body.instances:
            raise HTTPException(status_code=400, detail="no instances")
        return {"predictions": [answer(p) for p in probabilities(body.instances)]}

    @app.get("/model/info")
    async def model_info():
        return {"model_version": version, "features": features, "input": input_kind,
                **{k: v for k, v in meta.items() if k != "features"}}

    @app.get("/health")
    async def health():
        return {"status": "ok", "model_version": version}

    return app


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", help="ml-ready train.csv from seed_recipe.py (needed when --model does not exist)")
    ap.add_argument("--model", required=True, help="XGBoost model file (JSON); trained and saved here when missing")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8800)
    ap.add_argument("--threads", type=int, default=2, help="XGBoost threads for training")
    ap.add_argument("--input", choices=["dataframe", "numpy"], default="dataframe",
                    help="per-request path: a pandas DataFrame as the seed (default) or a numpy array")
    ap.add_argument("--access-log", action="store_true", help="uvicorn's per-request access log (off by default)")
    a = ap.parse_args(argv)

    if os.path.exists(a.model):
        clf, meta = load_model(a.model)
    elif a.train:
        clf, meta = train_model(a.train, a.model, a.threads)
    else:
        ap.error(f"{a.model} does not exist: give --train to train it")
    version = model_version(a.model)
    app = build_app(clf, meta, version, a.input)

    import uvicorn

    log(msg="serving", host=a.host, port=a.port, model_version=version, input=a.input,
        uvicorn=uvicorn.__version__, workers=1)
    uvicorn.run(app, host=a.host, port=a.port, workers=1, access_log=a.access_log, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
