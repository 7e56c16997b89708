#!/usr/bin/env bash
# Makes .venv with the pinned scikit-learn that `okno bench classify` runs its baseline with.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/bench/requirements.txt
