"""Run one refresh in a child process (stages called directly), so a test can SIGKILL it.

Usage: python _refresh_child.py WAREHOUSE BASE_URL MODE
"""

import sys
from pathlib import Path

import kolada_pipeline.flow as fr
from kolada_pipeline.flow import RefreshSettings, run_refresh

for name in ("refresh_metadata", "check_follow_up_models", "fetch_values", "apply_and_build", "quality_gate"):
    setattr(fr, name, getattr(fr, name).fn)

warehouse, base_url, mode = sys.argv[1:4]
print("started", flush=True)
run_refresh(RefreshSettings(warehouse=Path(warehouse), base_url=base_url, rate_limit=None), mode)
print("done", flush=True)
