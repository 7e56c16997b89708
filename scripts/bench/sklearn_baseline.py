"""Baseline for `okno-bench classify`: the issue's scikit-learn pipeline on the fixed split.

TF-IDF word 1-2-grams + char_wb 2-5-grams (sublinear tf), LinearSVC, one core. Targets:
category and reason from the text; agency by the lookup district x predicted reason (the most
frequent agency of that pair in training, else of the reason, else overall). Prediction speed is
vectorize + predict of the test texts, median of --repeat passes.

Usage: python sklearn_baseline.py APPEALS_CSV_GZ SPLIT_DIR [--repeat N]  (JSON on stdout)
"""

import argparse
import collections
import csv
import gzip
import json
import re
import statistics
import sys
import time

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC


def read_rows(path, split_dir):
    csv.field_size_limit(sys.maxsize)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        by_id = {row["id"]: row for row in csv.DictReader(f)}
    def pick(name):
        with open(f"{split_dir}/{name}", encoding="utf-8") as f:
            return [by_id[i.strip()] for i in f if i.strip() in by_id]
    return pick("train_ids.txt"), pick("test_ids.txt")


def normalize(text):
    return re.sub(r"\s+", " ", text.lower()).strip()


class Pipeline:
    def __init__(self):
        self.words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        self.model = LinearSVC(C=0.5, random_state=0)

    def fit(self, texts, labels):
        x = sp.hstack([self.words.fit_transform(texts), self.chars.fit_transform(texts)]).tocsr()
        self.model.fit(x, labels)

    def scores(self, texts):
        x = sp.hstack([self.words.transform(texts), self.chars.transform(texts)]).tocsr()
        return self.model.decision_function(x)


def top3(scores, classes, truth):
    best = np.argsort(-scores, axis=1)[:, :3]
    return float(np.mean([t in set(classes[b]) for t, b in zip(truth, best)]))


def figures(truth, predicted, top3_share):
    return {
        "accuracy": accuracy_score(truth, predicted),
        "macro_f1": f1_score(truth, predicted, average="macro", zero_division=0),
        "top3": top3_share,
    }


def timed_predictions(pipeline, texts, repeat):
    speeds, scores = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        scores = pipeline.scores(texts)
        speeds.append(len(texts) / (time.perf_counter() - started))
    return scores, statistics.median(speeds)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("appeals")
    parser.add_argument("split")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    train, test = read_rows(args.appeals, args.split)
    train_texts = [normalize(r["text"]) for r in train]
    test_texts = [normalize(r["text"]) for r in test]
    out = {"train_rows": len(train), "test_rows": len(test)}
    reason_scores = None
    for target in ("category", "reason"):
        pipeline = Pipeline()
        started = time.perf_counter()
        pipeline.fit(train_texts, [r[target] for r in train])
        train_seconds = time.perf_counter() - started
        scores, speed = timed_predictions(pipeline, test_texts, args.repeat)
        classes = pipeline.model.classes_
        truth = [r[target] for r in test]
        out[target] = figures(truth, classes[np.argmax(scores, axis=1)], top3(scores, classes, truth))
        out[target].update(train_seconds=train_seconds, predict_texts_per_s=speed)
        if target == "reason":
            reason_scores, reason_classes = scores, classes

    by_pair = collections.defaultdict(collections.Counter)
    by_reason = collections.defaultdict(collections.Counter)
    overall = collections.Counter()
    for r in train:
        by_pair[(r["district"], r["reason"])][r["responsible_org"]] += 1
        by_reason[r["reason"]][r["responsible_org"]] += 1
        overall[r["responsible_org"]] += 1

    def lookup(district, reason):
        for counter in (by_pair.get((district, reason)), by_reason.get(reason), overall):
            if counter:
                return counter.most_common(1)[0][0]

    truth = [r["responsible_org"] for r in test]
    ranked = [
        list(dict.fromkeys(lookup(r["district"], reason_classes[c]) for c in np.argsort(-s)[:3]))
        for r, s in zip(test, reason_scores)
    ]
    hit3 = float(np.mean([t in agencies for t, agencies in zip(truth, ranked)]))
    out["agency_lookup"] = figures(truth, [agencies[0] for agencies in ranked], hit3)
    for key in ("train_seconds", "predict_texts_per_s"):
        out["agency_lookup"][key] = out["reason"][key]
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
