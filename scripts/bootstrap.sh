#!/usr/bin/env bash
# Make .venv hold exactly what pyproject.toml + constraints.txt ask for. Sourced by the other
# scripts; reinstalls only when those files change. Needs python3 (3.11+) and the package index.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
stamp="$VENV/.installed-$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing kolada-pipeline into $VENV (once; about 30 s) ..." >&2
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$ROOT/constraints.txt" uv
  # uv compiles bytecode only when asked; without it every `import great_expectations` costs ~7 s more.
  UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 "$VENV/bin/uv" pip install --quiet \
    --python "$VENV/bin/python" -c "$ROOT/constraints.txt" -e "$ROOT[dev]"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
# Prefect keeps its database here, so it is migrated once, not on every run.
export PREFECT_HOME="${PREFECT_HOME:-$ROOT/.prefect}"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-120}"
export DO_NOT_TRACK=1
export GX_ANALYTICS_ENABLED=false
export PATH="$VENV/bin:$PATH"
