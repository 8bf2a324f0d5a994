"""Synthetic, valid frames shaped like the published tables, for tests and the benchmark.

``python -m warehouse.quality.synthetic [DOCS_DIR]`` times the gate on realistic sizes
(core.kpi_value ~520k rows, mart.kpi_followup ~60k, mart.goal_summary ~2k).
"""

from __future__ import annotations

import datetime as _dt
import sys

import numpy as np
import pandas as pd

from kolada_pipeline.quality.expectations import NULL_TOKEN, _expected_band


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(n)], dtype=object)


def kpi_value(n_kpis: int = 600, n_munis: int = 290, years=range(2015, 2025), genders=("T", "K", "M"), seed: int = 0) -> pd.DataFrame:
    """All combinations kpi x municipality x year x gender (600*290*... trimmed by ``seed``)."""
    rng = np.random.default_rng(seed)
    kpis = np.concatenate([_ids("N", n_kpis - n_kpis // 10, 5), _ids("U", n_kpis // 10, 5)])
    munis = np.array([f"{m:04d}" for m in range(114, 114 + n_munis)], dtype=object)
    years = np.asarray(list(years), dtype="int64")
    genders = np.asarray(genders, dtype=object)
    k, m, y, g = (a.ravel() for a in np.meshgrid(kpis, munis, years, genders, indexing="ij"))
    n = len(k)
    ts = pd.Timestamp("2026-01-01", tz="UTC")
    count = pd.array(rng.integers(0, 1000, n), dtype="Int64")
    count[rng.random(n) < 0.3] = pd.NA
    status = np.where(rng.random(n) < 0.05, "Preliminärt", None)
    return pd.DataFrame(
        {
            "kpi_id": k,
            "municipality_id": m,
            "year": y,
            "gender": g,
            "value": rng.normal(50, 20, n),
            "count": count,
            "status": status,
            "first_seen_at": ts,
            "last_changed_at": ts + pd.to_timedelta(rng.integers(0, 86400, n), unit="s"),
        }
    )


def kpi_followup(n_focus: int = 2, n_kpis: int = 100, n_munis: int = 30, years=range(2015, 2025), gender: str = "T", seed: int = 1) -> pd.DataFrame:
    """focus municipality x kpi x year x compared municipality; rank/band consistent."""
    rng = np.random.default_rng(seed)
    focus = np.array([f"{m:04d}" for m in (180, 1280, 1480, 2480)[:n_focus]], dtype=object)
    kpis = _ids("N", n_kpis, 5)
    munis = np.array([f"{m:04d}" for m in range(114, 114 + n_munis)], dtype=object)
    years = np.asarray(list(years), dtype="int64")
    f, k, y, m = (a.ravel() for a in np.meshgrid(focus, kpis, years, munis, indexing="ij"))
    n = len(f)
    ranked_count = np.full(n, 290, dtype="int64")
    rank = rng.integers(1, 291, n)
    df = pd.DataFrame(
        {
            "focus_municipality_id": f,
            "kpi_id": k,
            "year": y,
            "gender": gender,
            "municipality_id": m,
            "value": rng.normal(50, 20, n),
            "riket_value": 50.0,
            "region_value": 49.0,
            "municipalities_mean": 50.5,
            "municipalities_median": 50.1,
            "rank": pd.array(rank, dtype="Int64"),
            "ranked_count": pd.array(ranked_count, dtype="Int64"),
            "band": None,
            "change_1y": rng.normal(0, 2, n),
            "better_than_3y_mean": rng.random(n) < 0.5,
            "gender_gap": rng.normal(0, 3, n),
            "kpi_title": "Some KPI",
            "municipality_title": "Some municipality",
            "is_local": m == f,
            "higher_is_better": True,
        }
    )
    no_rank = rng.random(n) < 0.05  # KPIs without a direction / value: no rank, no band
    df.loc[no_rank, "rank"] = pd.NA
    band = _expected_band(df["rank"], df["ranked_count"])
    df["band"] = band.where(band != NULL_TOKEN, None)
    return df


def goal_summary(n_focus: int = 2, n_munis: int = 10, years=range(2019, 2025), seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    focus = np.array([f"{m:04d}" for m in (180, 1280, 1480, 2480)[:n_focus]], dtype=object)
    goals = np.arange(1, 18, dtype="int64")
    years = np.asarray(list(years), dtype="int64")
    munis = np.array([f"{m:04d}" for m in range(114, 114 + n_munis)], dtype=object)
    f, g, y, m = (a.ravel() for a in np.meshgrid(focus, goals, years, munis, indexing="ij"))
    n = len(f)
    mapped = rng.integers(5, 40, n)
    with_value = (mapped * rng.random(n)).astype("int64")
    green = (with_value * rng.random(n) * 0.5).astype("int64")
    red = ((with_value - green) * rng.random(n) * 0.5).astype("int64")
    yellow = ((with_value - green - red) * rng.random(n)).astype("int64")
    return pd.DataFrame(
        {
            "focus_municipality_id": f,
            "goal": g,
            "year": y,
            "municipality_id": m,
            "kpis_mapped": mapped,
            "kpis_with_value": with_value,
            "green": green,
            "yellow": yellow,
            "red": red,
        }
    )


def realistic_frames() -> dict[str, pd.DataFrame]:
    """~520k / ~60k / ~2k rows."""
    return {
        "core.kpi_value": kpi_value(n_kpis=600, n_munis=290, years=range(2023, 2024)),  # 522k
        "mart.kpi_followup": kpi_followup(n_focus=2, n_kpis=100, n_munis=30),  # 60k
        "mart.goal_summary": goal_summary(n_focus=2, n_munis=10),  # 2,040
    }


def small_frames() -> dict[str, pd.DataFrame]:
    return {
        "core.kpi_value": kpi_value(n_kpis=10, n_munis=5, years=range(2020, 2024)),
        "mart.kpi_followup": kpi_followup(n_focus=1, n_kpis=5, n_munis=8, years=range(2021, 2024)),
        "mart.goal_summary": goal_summary(n_focus=1, n_munis=3, years=range(2022, 2024)),
    }


def _bench(docs_dir: str) -> None:  # pragma: no cover - manual benchmark
    from kolada_pipeline.quality import run_publish_gate

    frames = realistic_frames()
    print({k: len(v) for k, v in frames.items()})
    for i in range(3):
        report = run_publish_gate(frames, docs_dir, run_id=f"bench-{i}-{_dt.datetime.now():%H%M%S}")
        print({k: round(v, 3) for k, v in report.timings.items()})
    print(report.summary())


if __name__ == "__main__":  # pragma: no cover
    _bench(sys.argv[1] if len(sys.argv) > 1 else "/tmp/publish_gate_bench_docs")
