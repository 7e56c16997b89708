#!/usr/bin/env bash
# Makes .venv with the pinned scikit-learn and DuckDB that `okno-bench classify` and
# `okno-bench analytics` run their baselines with.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/bench/requirements.txt
