# Make .venv hold exactly what pyproject.toml + constraints.txt ask for, then put it first on PATH.
# Reinstalls only when those files change. Needs python3 (3.11+) and the package index.
#
#   source scripts/bootstrap.sh     # in your own shell: `kolada`, `prefect`, `python` from .venv
#
# Sourcing changes only these in your shell: PATH and VIRTUAL_ENV (the venv, as `activate` does),
# PREFECT_HOME (default <repo>/.prefect) and the quiet, offline-safe Prefect settings
# PREFECT_SERVER_ANALYTICS_ENABLED, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS and
# DO_NOT_TRACK. No shell options (no `set -e`), no other variables; a failed install
# returns non-zero without closing your shell.

_kolada_bootstrap() {
  local root venv status
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
  venv="$root/.venv"
  # The install runs in a subshell, so its strict mode never reaches the caller's shell. (Not
  # `( ... ) || return`: bash ignores `set -e` inside a command whose status is tested.)
  (
    set -euo pipefail
    py="${PYTHON:-python3}"
    stamp="$venv/.installed-$(cat "$root/pyproject.toml" "$root/constraints.txt" | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
      echo "Installing kolada-pipeline into $venv (once; about 30 s) ..." >&2
      [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$root/constraints.txt" uv
      # uv compiles bytecode only when asked; without it every import of prefect or polars is slower.
      UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 "$venv/bin/uv" pip install --quiet \
        --python "$venv/bin/python" -c "$root/constraints.txt" -e "$root[dev]"
      rm -f "$venv"/.installed-*
      touch "$stamp"
    fi
  )
  status=$?
  [ "$status" -eq 0 ] || return "$status"
  # Prefect keeps its database here, so it is migrated once, not on every run.
  export PREFECT_HOME="${PREFECT_HOME:-$root/.prefect}"
  export PREFECT_SERVER_ANALYTICS_ENABLED=false
  export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-120}"
  export DO_NOT_TRACK=1
  export VIRTUAL_ENV="$venv"
  case ":$PATH:" in
    *":$venv/bin:"*) ;;
    *) export PATH="$venv/bin:$PATH" ;;
  esac
}

_kolada_bootstrap
_kolada_status=$?
unset -f _kolada_bootstrap
# `return` when sourced (the usual way); `exit` only when run as a script.
if [ "$_kolada_status" -ne 0 ]; then
  unset _kolada_status
  return 1 2>/dev/null || exit 1
fi
unset _kolada_status
