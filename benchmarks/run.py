"""The refresh benchmark: one command, run from the repository root.

    .venv/bin/python -m benchmarks.run            # everything (about 15-20 minutes on 2 cores)
    .venv/bin/python -m benchmarks.run --quick    # 1 run of each, x4 scale only (about 5 minutes)

It starts the local Kolada server (``python -m kolada_pipeline.server --verbose``, a subprocess over
the bundled real snapshot) and measures, with the rate limit lifted (``--rate-limit 0``):

1. full refreshes end to end through the CLI (``kolada refresh --full``) at x1 (the Agenda 2030
   KPI set, every unit, every year) and at the synthetic scale-ups (server ``--scale 4``/``16``);
2. incremental refreshes with nothing changed upstream (``--incremental``, right after a full one
   on the same warehouse);
3. the requests made, counted in the server's request log, against the minimum any client needs;
4. the peak memory of every run;
5. our client against koladapy on identical data, server and throttle (``benchmarks.peer``);
6. a floor for parsing and loading: DuckDB's ``read_json`` over the same pages (``benchmarks.floor``);

and the flow's own work without Prefect (``benchmarks.inprocess``). Medians are reported, in one
table, in ``benchmarks/results/latest.json`` and (unless ``--quick``) in ``benchmarks/RESULTS.md``.
See ``benchmarks/README.md`` for the definitions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from ._proc import BIN, PYTHON, LocalServer, bench_env, measure, peak_rate, wait_for_quiet

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MAX_PER_PAGE = 5000
MAX_IDS = 25
METADATA_MINIMUM = 5  # /kpi (2 pages of 6,099), /municipality, /kpi_groups/{2 ids}, /municipality_groups
GIB = 1024  # MiB

DEFAULT_RATE = 5.0  # requests/s: the client's default, the politeness floor's rate
#: Issue 7's targets (rate limit lifted) and issue 14's (at the default rate, at x16 and for the
#: x72 "all of Kolada" mirror).
TARGETS = {
    "full_e2e": 40.0,
    "full_flow": 25.0,
    "incr_e2e": 15.0,
    "incr_flow": 3.0,
    "requests_ratio": 1.1,
    "peer_speedup": 3.0,
    "scale_time_ratio": 18.0,
    "scale_memory_ratio": 2.0,
    "full_peak_mib": 1.0 * GIB,
    "default_full_floor": 1.25,
    "default_incr_floor": 2.0,
    "mirror_flow": 600.0,
    "mirror_peak_mib": 2.0 * GIB,
    "mirror_incr_flow": 60.0,
    "mirror_requests_ratio": 1.1,
    "mirror_fetch_at_default_rate": 1800.0,
}


QUIET = {"max_wait": 5.0}


def quiet(exclude: list[int]) -> dict[str, float]:
    """Before a measurement: give other processes on a shared machine a chance to finish (see --quiet-wait)."""
    if QUIET["max_wait"] <= 0:
        return {}
    waited, load = wait_for_quiet(QUIET["max_wait"], exclude=exclude)
    return {"quiet_wait_seconds": waited, "others_cores_at_start": load}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# -- one measured run ---------------------------------------------------------------------------
def facts(warehouse: Path, minimum: bool = False) -> dict[str, Any]:
    """Read the warehouse in a subprocess (``benchmarks._facts``), keeping this process small."""
    command = [PYTHON, "-m", "benchmarks._facts", str(warehouse)] + (["--minimum"] if minimum else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=HERE.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cli_refresh(
    server: LocalServer, warehouse: Path, mode: str, env: dict[str, str], *, default_rate: bool = False
) -> dict[str, Any]:
    """``kolada refresh --<mode>`` end to end; requests counted in the server's log. The rate
    limit is lifted (``--rate-limit 0``) unless ``default_rate``: then the command's own default."""
    waited = quiet([server.pid])
    before = len(server.requests())
    rate = [] if default_rate else ["--rate-limit", "0"]
    command = [
        str(BIN / "kolada"),
        "refresh",
        f"--{mode}",
        "--base-url",
        server.base_url,
        "--warehouse",
        str(warehouse),
    ]
    m = measure([*command, *rate], env, companions=[server.pid]).check()
    logged = server.requests()[before:]
    run = facts(warehouse)["last_run"]
    printed = re.search(r"([\d,]+) requests", m.stdout)
    return {
        "seconds": m.seconds,
        "cpu_seconds": m.cpu_seconds,
        "others_cores": m.others_cores,
        "peak_rss_mib": m.peak_rss_mib,
        "peak_tree_mib": m.peak_tree_mib,
        "server_requests": len(logged),
        "flow_requests": run["requests"],
        "printed_requests": int(printed.group(1).replace(",", "")) if printed else None,
        "non_200": sum(r.status != 200 for r in logged),
        "peak_requests_per_second": peak_rate(logged),
        "mode": run["mode"],
        "rows_fetched": run["rows_fetched"],
        "rows_inserted": run["rows_inserted"],
        "flow_seconds_in_cli_1s_resolution": run["flow_seconds_1s"],
        "data_targets": [r.target for r in logged if r.target.startswith("/v3/data/")],
        **waited,
    }


def inprocess_refresh(
    server: LocalServer,
    warehouse: Path,
    mode: str,
    env: dict[str, str],
    profile: Path | None = None,
    kpi_set: str | None = None,
) -> dict[str, Any]:
    """``run_refresh`` with the tasks' plain functions, in a fresh process (``benchmarks.inprocess``)."""
    command = [
        PYTHON,
        "-m",
        "benchmarks.inprocess",
        "--base-url",
        server.base_url,
        "--warehouse",
        str(warehouse),
        "--mode",
        mode,
    ]
    if profile is not None:
        command += ["--profile", str(profile)]
    if kpi_set is not None:
        command += ["--kpi-set", kpi_set]
    waited = quiet([server.pid])
    m = measure(command, env, companions=[server.pid]).check()
    out = json.loads(m.stdout.strip().splitlines()[-1])
    out.update(
        process_seconds=m.seconds,
        process_cpu_seconds=m.cpu_seconds,
        others_cores=m.others_cores,
        peak_rss_mib=m.peak_rss_mib,
        **waited,
    )
    return out


def minimum_requests(held: dict[str, Any]) -> dict[str, Any]:
    """Issue 14's minimum for the rows held (see README): KPIs and the set's years with data
    chunked by 25, region_type K and L separately, placeholders counted (a unit with a value for
    a KPI gets an object for every year asked); plus the placeholder-free lower bound."""
    from kolada_client import chunked

    data = held["data"]
    units = {(kpi, kind): n for kpi, kind, n in held["units_by_kpi_type"]}
    pages = 0
    for kpis in chunked(sorted({kpi for kpi, _ in units})):
        for years in chunked(held["years"]):
            for kind in ("K", "L"):
                objects = sum(units.get((kpi, kind), 0) for kpi in kpis) * len(years)
                pages += max(1, math.ceil(objects / MAX_PER_PAGE))
    by_objects = math.ceil(data["objects"] / MAX_PER_PAGE)
    by_lists = math.ceil(data["kpis_with_data"] / MAX_IDS) * math.ceil(data["years_with_data"] / MAX_IDS)
    return {
        **data,
        "data_chunked": pages,
        "data_by_objects": by_objects,
        "data_by_id_lists": by_lists,
        "metadata": METADATA_MINIMUM,
        "minimum": pages + METADATA_MINIMUM,
        "lower_bound": max(by_objects, by_lists) + METADATA_MINIMUM,
    }


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder / "kolada.duckdb"


# -- the scenarios --------------------------------------------------------------------------------
def run_scale(
    scale: int, runs: int, env: dict[str, str], work: Path, *, incremental: bool, warm_up: bool, floor_runs: int = 0
) -> dict[str, Any]:
    out: dict[str, Any] = {"scale": scale, "runs": runs}
    with LocalServer(scale, work / f"server-x{scale}.log", env) as server:
        log(f"x{scale}: local Kolada server at {server.base_url}")
        if warm_up:
            log("warm-up: one throwaway CLI full refresh (Prefect database, OS file cache)")
            out["warm_up_seconds"] = cli_refresh(server, _fresh(work / "warm-up"), "full", env)["seconds"]
            shutil.rmtree(work / "warm-up", ignore_errors=True)
        cli_full, cli_incr, ip_full, ip_incr = [], [], [], []
        for i in range(runs):
            warehouse = _fresh(work / f"x{scale}-cli-{i}")
            cli_full.append(cli_refresh(server, warehouse, "full", env))
            log(
                f"x{scale} CLI full #{i + 1}: {cli_full[-1]['seconds']:.1f} s, {cli_full[-1]['server_requests']} requests, "
                f"peak {cli_full[-1]['peak_rss_mib']:.0f} MiB (others used {cli_full[-1]['others_cores']:.1f} cores)"
            )
            if incremental:
                cli_incr.append(cli_refresh(server, warehouse, "incremental", env))
                log(
                    f"x{scale} CLI incremental #{i + 1}: {cli_incr[-1]['seconds']:.1f} s, "
                    f"{cli_incr[-1]['server_requests']} requests (others used {cli_incr[-1]['others_cores']:.1f} cores)"
                )
            if i == 0:
                held = facts(warehouse, minimum=True)
                out["minimum"] = minimum_requests(held)
                kpis = held["kpis"]
            if i < runs - 1:
                shutil.rmtree(warehouse.parent, ignore_errors=True)
        for i in range(runs):
            warehouse = _fresh(work / f"x{scale}-inprocess-{i}")
            ip_full.append(inprocess_refresh(server, warehouse, "full", env))
            log(f"x{scale} in-process full #{i + 1}: {ip_full[-1]['seconds']:.1f} s")
            if incremental:
                ip_incr.append(inprocess_refresh(server, warehouse, "incremental", env))
                log(f"x{scale} in-process incremental #{i + 1}: {ip_incr[-1]['seconds']:.1f} s")
            shutil.rmtree(warehouse.parent, ignore_errors=True)
        out.update(cli_full=cli_full, cli_incremental=cli_incr, inprocess_full=ip_full, inprocess_incremental=ip_incr)
        out["kpis"] = kpis
        if floor_runs:
            targets = work / f"data-targets-x{scale}.txt"
            targets.write_text("\n".join(cli_full[0]["data_targets"]) + "\n")
            log(f"floor: DuckDB read_json over the {len(cli_full[0]['data_targets'])} data pages of a full refresh")
            m = measure(
                [
                    PYTHON,
                    "-m",
                    "benchmarks.floor",
                    "--base-url",
                    server.base_url,
                    "--targets",
                    str(targets),
                    "--runs",
                    str(floor_runs),
                ],
                env,
                companions=[server.pid],
            ).check()
            out["floor"] = json.loads(m.stdout.strip().splitlines()[-1])
            out["floor"]["others_cores"] = m.others_cores
    for run in cli_full + cli_incr:
        run.pop("data_targets")
    for folder in work.glob(f"x{scale}-*"):
        shutil.rmtree(folder, ignore_errors=True)
    return out


def run_default_rate(runs: int, env: dict[str, str], work: Path) -> dict[str, Any]:
    """x1 full and no-change incremental refreshes through the CLI at its default rate (5 req/s),
    against the politeness floor: the run's requests / 5 per second."""
    out: dict[str, Any] = {"rate": DEFAULT_RATE, "full": [], "incremental": []}
    with LocalServer(1, work / "server-default-rate.log", env) as server:
        for i in range(runs):
            warehouse = _fresh(work / f"default-rate-{i}")
            for mode in ("full", "incremental"):
                run = cli_refresh(server, warehouse, mode, env, default_rate=True)
                run.pop("data_targets")
                run["floor_seconds"] = run["server_requests"] / DEFAULT_RATE
                out[mode].append(run)
                log(
                    f"x1 CLI {mode} at {DEFAULT_RATE:g} req/s #{i + 1}: {run['seconds']:.1f} s, "
                    f"{run['server_requests']} requests (floor {run['floor_seconds']:.1f} s)"
                )
            shutil.rmtree(warehouse.parent, ignore_errors=True)
    return out


def run_mirror(scale: int, env: dict[str, str], work: Path) -> dict[str, Any]:
    """Issue 14's moonshot: ``--kpi-set all`` (every KPI Kolada lists, every unit) on the local
    server's synthetic scale-up, rate limit lifted: the flow's own work in full and with nothing
    changed, its peak RSS, and its requests against the minimum."""
    out: dict[str, Any] = {"scale": scale}
    with LocalServer(scale, work / f"server-mirror-x{scale}.log", env) as server:
        warehouse = _fresh(work / f"mirror-x{scale}")
        log(f"mirror x{scale}: kolada refresh --kpi-set all, flow's own work (this takes a while)")
        out["full"] = inprocess_refresh(server, warehouse, "full", env, kpi_set="all")
        out["full"]["server_requests"] = len(server.requests())
        log(f"mirror x{scale} full: {out['full']['seconds']:.0f} s, peak {out['full']['peak_rss_mib']:.0f} MiB")
        before = len(server.requests())
        out["incremental"] = inprocess_refresh(server, warehouse, "incremental", env, kpi_set="all")
        out["incremental"]["server_requests"] = len(server.requests()) - before
        log(f"mirror x{scale} incremental: {out['incremental']['seconds']:.0f} s")
        held = facts(warehouse, minimum=True)
        out["minimum"] = minimum_requests(held)
        out["kpis_listed"] = out["full"]["summary"]["kpis"]
        shutil.rmtree(warehouse.parent, ignore_errors=True)
    return out


def run_peer(
    runs: int, rate: float, kpis: list[str], env: dict[str, str], work: Path, server: str = "inprocess"
) -> dict[str, Any]:
    kpi_file = work / "peer-kpis.json"
    kpi_file.write_text(json.dumps(kpis))
    waited = quiet([])
    m = measure(
        [
            PYTHON,
            "-W",
            "ignore",
            "-m",
            "benchmarks.peer",
            "--runs",
            str(runs),
            "--rate",
            str(rate),
            "--kpis",
            str(kpi_file),
            "--server",
            server,
        ],
        env,
    ).check()
    out = json.loads(m.stdout.strip().splitlines()[-1])
    out.update(others_cores=m.others_cores, **waited)
    return out


def run_profiles(env: dict[str, str], work: Path, which: list[str], scale: int = 1) -> dict[str, str]:
    """pyinstrument profiles of run_refresh in-process (HTML + text in results/profiles/)."""
    folder = RESULTS / "profiles"
    shutil.rmtree(folder, ignore_errors=True)  # no stale profile from an earlier benchmark run
    folder.mkdir(parents=True)
    written: dict[str, str] = {}
    with LocalServer(scale, work / f"server-profile-x{scale}.log", env) as server:
        warehouse = _fresh(work / f"profile-x{scale}")
        for mode in ("full", "incremental"):
            path = folder / f"run_refresh-x{scale}-{mode}.html"
            if mode in which:
                log(f"profiling run_refresh x{scale} {mode} with pyinstrument")
                inprocess_refresh(server, warehouse, mode, env, profile=path)
                written[mode] = str(path.with_suffix(".txt"))
            elif mode == "full" and "incremental" in which:
                inprocess_refresh(server, warehouse, "full", env)  # the incremental needs a warehouse
        shutil.rmtree(warehouse.parent, ignore_errors=True)
    return written


# -- machine --------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = int(line.split()[1]) / 2**20
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for dist in ("duckdb", "polars", "prefect", "pandera", "koladapy", "requests", "orjson", "pyinstrument"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory, 1),
        "os": platform.platform(),
        "versions": versions,
        "load_average_at_start": os.getloadavg(),
    }


# -- report ---------------------------------------------------------------------------------------
def _s(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f} s"


def _sc(seconds: float | None, runs: list[dict[str, Any]]) -> str:
    """Wall seconds with the median CPU seconds of the process (a shared machine slows wall time)."""
    cpu = median([r["cpu_seconds"] for r in runs])
    return f"{_s(seconds)} (CPU {cpu:.1f} s)" if cpu is not None else _s(seconds)


STAGE_NAMES = {
    "refresh_metadata": "metadata",
    "check_follow_up_models": "models",
    "fetch_values": "values",
    "apply_and_build": "apply+marts",
    "quality_gate": "gate",
    "imports": "imports",
}


def _peaks(runs: list[dict[str, Any]]) -> str:
    """The in-process peak RSS as it stood after each stage (median over runs)."""
    if not runs:
        return "n/a"
    return (
        ", ".join(
            f"{STAGE_NAMES.get(k, k)} {median([r['peak_rss_after_mib'][k] for r in runs]):.0f}"
            for k in runs[0]["peak_rss_after_mib"]
        )
        + " MiB"
    )


def _stages(runs: list[dict[str, Any]]) -> str:
    names = {
        "refresh_metadata": "metadata",
        "check_follow_up_models": "models",
        "fetch_values": "values",
        "apply_and_build": "apply+marts",
        "quality_gate": "gate",
    }
    if not runs:
        return "n/a"
    parts = []
    for key in runs[0]["stages"]:
        value = median([r["stages"].get(key) for r in runs])
        parts.append(f"{names.get(key, 'other')} {value:.1f}")
    return ", ".join(parts) + " s"


def build_rows(res: dict[str, Any]) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """The table rows ([what, measured, target, ratio, result]) and the target verdicts."""
    rows: list[list[str]] = []
    verdicts: list[dict[str, Any]] = []

    def check(
        name: str,
        what: str,
        measured: float | None,
        shown: str,
        target: float,
        target_text: str,
        lower_is_better: bool = True,
    ) -> None:
        if measured is None:
            rows.append([what, shown, target_text, "", "n/a"])
            verdicts.append({"target": name, "measured": None, "limit": target, "passed": None})
            return
        ratio = measured / target
        passed = measured <= target if lower_is_better else measured >= target
        rows.append([what, shown, target_text, f"{ratio:.2f}x", "PASS" if passed else "FAIL"])
        verdicts.append({"target": name, "measured": measured, "limit": target, "ratio": ratio, "passed": passed})

    def check_seconds(name: str, what: str, runs: list[dict[str, Any]]) -> float | None:
        """A median wall time (with its CPU time) against its target in seconds."""
        seconds = median([r["seconds"] for r in runs])
        check(name, what, seconds, _sc(seconds, runs), TARGETS[name], f"<= {TARGETS[name]:g} s")
        return seconds

    def info(what: str, measured: str) -> None:
        rows.append([what, measured, "", "", ""])

    x1 = res["scales"]["1"]
    n = x1["runs"]
    full_flow = median([r["seconds"] for r in x1["inprocess_full"]])
    full_peak = median([r["peak_rss_mib"] for r in x1["cli_full"]])
    info(
        "Rate limit",
        f"lifted: --rate-limit 0 = unlimited; server saw up to "
        f"{max(r['peak_requests_per_second'] for r in x1['cli_full'])} req/s",
    )
    check_seconds(
        "full_e2e",
        f"Full x1 ({len(x1['kpis'])} KPIs, all units, all years), CLI end to end, median of {n}",
        x1["cli_full"],
    )
    check_seconds("full_flow", "Full x1, flow's own work (run_refresh in-process, no Prefect)", x1["inprocess_full"])
    info("  stages (median)", _stages(x1["inprocess_full"]))
    info("  in-process peak RSS after each stage", _peaks(x1["inprocess_full"]))
    info(
        "  flow inside the CLI run (meta.refresh_run, 1 s res.)",
        _s(median([r["flow_seconds_in_cli_1s_resolution"] for r in x1["cli_full"]])),
    )
    check(
        "full_peak_mib",
        "Full x1, peak RSS (CLI process)",
        full_peak,
        f"{full_peak:.0f} MiB",
        TARGETS["full_peak_mib"],
        "<= 1024 MiB",
    )
    info(
        "  peak RSS, whole tree incl. Prefect server", f"{median([r['peak_tree_mib'] for r in x1['cli_full']]):.0f} MiB"
    )
    mini = x1["minimum"]
    reqs = x1["cli_full"][0]["server_requests"]
    check(
        "requests_ratio",
        "Full x1, requests (server log) / minimum",
        reqs / mini["minimum"],
        f"{reqs} / {mini['minimum']} = {reqs / mini['minimum']:.2f}x",
        TARGETS["requests_ratio"],
        "<= 1.1x min",
    )
    info(
        "  minimum (issue 14) = 5 metadata + pages of KPIs x the set's years by 25, K and L apart, placeholders counted",
        f"5 + {mini['data_chunked']}: {mini['objects']:,} objects, {mini['kpis_with_data']} KPIs, "
        f"{mini['years_with_data']} years with data",
    )
    info(
        "  lower bound, no placeholders = 5 + max(ceil(objects/5000), ceil(kpis/25) x ceil(years/25))",
        f"{mini['lower_bound']}: requests / lower bound = {reqs / mini['lower_bound']:.2f}x",
    )
    check_seconds("incr_e2e", f"Incremental x1, nothing changed, CLI end to end, median of {n}", x1["cli_incremental"])
    check_seconds("incr_flow", "Incremental x1, flow's own work (in-process)", x1["inprocess_incremental"])
    info("  stages (median)", _stages(x1["inprocess_incremental"]))
    if x1["cli_incremental"]:
        r = x1["cli_incremental"][0]
        info(
            "  requests, peak RSS",
            f"{r['server_requests']} requests, {median([q['peak_rss_mib'] for q in x1['cli_incremental']]):.0f} MiB",
        )
    for key, sc in res["scales"].items():
        if key == "1":
            continue
        e2e = median([r["seconds"] for r in sc["cli_full"]])
        flow = median([r["seconds"] for r in sc["inprocess_full"]])
        peak = median([r["peak_rss_mib"] for r in sc["cli_full"]])
        m = sc["minimum"]
        reqs = sc["cli_full"][0]["server_requests"]
        info(
            f"Full x{key} ({len(sc['kpis'])} KPIs, {m['rows']:,} rows), median of {sc['runs']}",
            f"CLI {_s(e2e)}, flow {_s(flow)}, peak {peak:.0f} MiB, "
            f"{reqs} requests = {reqs / m['minimum']:.2f}x min {m['minimum']}",
        )
        info("  stages (median)", _stages(sc["inprocess_full"]))
        info("  in-process peak RSS after each stage", _peaks(sc["inprocess_full"]))
        if key == "16":
            check(
                "scale_time_ratio",
                "Scale x16: flow's work / x1 flow's work",
                flow / full_flow,
                f"{flow / full_flow:.1f}x",
                TARGETS["scale_time_ratio"],
                "<= 18x",
            )
            check(
                "scale_memory_ratio",
                "Scale x16: peak RSS / x1 peak RSS (CLI)",
                peak / full_peak,
                f"{peak / full_peak:.2f}x",
                TARGETS["scale_memory_ratio"],
                "<= 2x",
            )
    if "16" not in res["scales"]:
        check("scale_time_ratio", "Scale x16: flow's work / x1 (not run)", None, "not run", 18.0, "<= 18x")
        check("scale_memory_ratio", "Scale x16: peak RSS / x1 (not run)", None, "not run", 2.0, "<= 2x")
    _default_rate_rows(res, check, info)
    _mirror_rows(res, check, info)
    peer = res.get("peer")
    if peer:
        throttle = "both unthrottled" if not peer["rate"] else f"both at {peer['rate']:g} req/s"
        check(
            "peer_speedup",
            f"Fetch vs koladapy {peer['koladapy_version']}: {peer['kpis']} KPIs, all units, {peer['years'][0]}-"
            f"{peer['years'][1]}, same server, {throttle}, median of {len(peer['ours'])}",
            peer["speedup"],
            f"ours {peer['ours_median_seconds']:.1f} s / {peer['ours_requests']} req; koladapy "
            f"{peer['koladapy_median_seconds']:.1f} s / {peer['koladapy_requests']} req: {peer['speedup']:.2f}x",
            TARGETS["peer_speedup"],
            ">= 3x faster",
            lower_is_better=False,
        )
        pub = peer["koladapy_public_call"]
        info(
            "  koladapy's own get_data_as_dataframe on v3",
            f"{pub['rows']} rows, {pub['requests']} requests, HTTP {pub['statuses']} ({pub['example']})"
            + (f", raised {pub['error']}" if pub["error"] else ", no error raised"),
        )
        info("  identical rows (kpi, unit, year, gender, value)", str(peer["identical_rows"]))
        info(
            "  server floor: same pages as raw bytes, 4 at a time, no parsing",
            f"{peer['server_floor_median_seconds']:.1f} s: no client can beat koladapy by more than "
            f"{peer['speedup_ceiling']:.1f}x on this server",
        )
        sub = res.get("peer_subprocess_server")
        if sub:
            info(
                "  same comparison, server in its own process",
                f"ours {sub['ours_median_seconds']:.1f} s, koladapy {sub['koladapy_median_seconds']:.1f} s: "
                f"{sub['speedup']:.2f}x (server floor {sub['server_floor_median_seconds']:.1f} s, "
                f"ceiling {sub['speedup_ceiling']:.1f}x)",
            )
    floor = x1.get("floor")
    if floor:
        fetch_load = median(
            [r["stages"]["fetch_values"] + r["stages"]["apply_and_build"] for r in x1["inprocess_full"]]
        )
        info(
            f"Floor: DuckDB read_json + unnest + table, {floor['pages']} pages, {floor['megabytes']:.0f} MB",
            f"{floor['median_seconds']:.1f} s for {floor['rows']:,} rows (flow's values + apply+marts: {fetch_load:.1f} s)",
        )
    others = [
        r["others_cores"]
        for sc in res["scales"].values()
        for r in sc["cli_full"] + sc["cli_incremental"] + sc["inprocess_full"] + sc["inprocess_incremental"]
    ]
    info(
        "Machine contention: CPU used by other processes",
        f"median {median(others):.1f}, max {max(others):.1f} of {res['machine']['nproc']} cores",
    )
    return rows, verdicts


def _default_rate_rows(res: dict[str, Any], check: Any, info: Any) -> None:
    """Issue 14: end to end at the default rate against the politeness floor (requests / 5)."""
    dr = res.get("default_rate")
    for mode, name in (("full", "default_full_floor"), ("incremental", "default_incr_floor")):
        what = f"{mode.capitalize()} x1 at the default {DEFAULT_RATE:g} req/s, CLI end to end / politeness floor"
        target = f"<= {TARGETS[name]:g}x floor"
        if not dr or not dr[mode]:
            check(name, what + " (not run)", None, "not run", TARGETS[name], target)
            continue
        runs = dr[mode]
        ratio = median([r["seconds"] / r["floor_seconds"] for r in runs])
        seconds, floor = median([r["seconds"] for r in runs]), median([r["floor_seconds"] for r in runs])
        shown = f"{seconds:.1f} s / {floor:.1f} s ({runs[0]['server_requests']} requests) = {ratio:.2f}x"
        check(name, f"{what}, median of {len(runs)}", ratio, shown, TARGETS[name], target)
    for mode in ("full", "incremental"):
        if dr and dr[mode]:
            runs = dr[mode]
            outside = median([r["seconds"] - r["flow_seconds_in_cli_1s_resolution"] for r in runs])
            info(
                f"  {mode}: CLI time outside the flow (Prefect's start and stop, imports, publish)",
                f"{_s(outside)} (flow inside the CLI: meta.refresh_run, 1 s resolution)",
            )
    if dr and dr["full"]:
        info(
            "  most requests in one second of the server's log, default rate",
            f"{max(r['peak_requests_per_second'] for r in dr['full'] + dr['incremental'])} "
            "(1 s stamps; the sliding-window test: tests/kolada_client/test_rate_limit.py)",
        )
    peer = res.get("peer_default_rate")
    if peer:
        info(
            f"  fetch vs koladapy, both at {peer['rate']:g} req/s (the floor dominates), median of {len(peer['ours'])}",
            f"ours {peer['ours_median_seconds']:.1f} s / {peer['ours_requests']} req; koladapy "
            f"{peer['koladapy_median_seconds']:.1f} s / {peer['koladapy_requests']} req: {peer['speedup']:.2f}x",
        )


def _mirror_rows(res: dict[str, Any], check: Any, info: Any) -> None:
    """Issue 14's moonshot: every KPI Kolada lists on the synthetic scale-up, rate limit lifted."""
    mirror = res.get("mirror")
    names = {
        "mirror_flow": "flow's own work, full",
        "mirror_peak_mib": "peak RSS",
        "mirror_incr_flow": "flow's own work, nothing changed",
        "mirror_requests_ratio": "requests / minimum",
        "mirror_fetch_at_default_rate": f"its requests at {DEFAULT_RATE:g} req/s",
    }
    if not mirror:
        for name, what in names.items():
            check(name, f"All of Kolada (--kpi-set all), {what} (not run)", None, "not run", TARGETS[name], "")
        return
    full, incr, mini = mirror["full"], mirror["incremental"], mirror["minimum"]
    label = f"All of Kolada x{mirror['scale']} ({mirror['kpis_listed']:,} KPIs, {mini['rows']:,} values)"
    requests = full["summary"]["requests"]
    measured = {
        "mirror_flow": (full["seconds"], _sc(full["seconds"], [full])),
        "mirror_peak_mib": (full["peak_rss_mib"], f"{full['peak_rss_mib']:.0f} MiB"),
        "mirror_incr_flow": (
            incr["seconds"],
            f"{_sc(incr['seconds'], [incr])}, {incr['summary']['requests']} requests",
        ),
        "mirror_requests_ratio": (
            requests / mini["minimum"],
            f"{requests:,} / {mini['minimum']:,} = {requests / mini['minimum']:.2f}x",
        ),
        "mirror_fetch_at_default_rate": (requests / DEFAULT_RATE, f"{requests / DEFAULT_RATE / 60:.1f} min"),
    }
    units = {"mirror_peak_mib": " MiB", "mirror_requests_ratio": "x min"}
    for name, what in names.items():
        value, shown = measured[name]
        limit = TARGETS[name]
        target = f"<= {limit:g}{units.get(name, ' s')}"
        check(name, f"{label}, {what}", value, shown, limit, target)
    info("  stages, full", _stages([full]))
    info("  peak RSS after each stage, full", _peaks([full]))
    info("  stages, nothing changed", _stages([incr]))


def print_table(rows: list[list[str]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for name, style in (("What", None), ("Measured", None), ("Target", None), ("vs target", "right"), ("Result", None)):
        table.add_column(name, justify=style or "left", overflow="fold")
    for row in rows:
        colour = {"PASS": "green", "FAIL": "bold red"}.get(row[4])
        table.add_row(*row[:4], f"[{colour}]{row[4]}[/]" if colour else row[4])
    Console(width=200).print(table)


def write_markdown(res: dict[str, Any], rows: list[list[str]], path: Path) -> None:
    m = res["machine"]
    v = m["versions"]
    lines = [
        "# Benchmark results",
        "",
        f"Run {res['finished_at']} with `{res['command']}` "
        f"({res['duration_seconds'] / 60:.1f} min). Written by `benchmarks/run.py`; definitions in "
        "[`benchmarks/README.md`](README.md).",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB RAM, {m['os']}. "
        f"Load average at start: {', '.join(f'{x:.1f}' for x in m['load_average_at_start'])}.",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val) + ".",
        "",
        "| What | Measured | Target | vs target | Result |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "/") for c in row) + " |")
    passed = [t for t in res["targets"] if t["passed"]]
    lines += ["", f"**{len(passed)} of {len(res['targets'])} targets met.**", ""]
    lines += [
        "Notes:",
        "- Times are medians; end to end = `kolada refresh` as a subprocess, Prefect's ephemeral server included "
        "(warm `PREFECT_HOME`, one throwaway run first). Flow's own work = `run_refresh` with each task's `.fn` in a "
        "fresh process, imports excluded.",
        "- Requests are counted in the local server's request log (`--verbose`); the flow's own count "
        "(`meta.refresh_run.requests`) agreed in every run: "
        f"{all(r['server_requests'] == r['flow_requests'] for sc in res['scales'].values() for r in sc['cli_full'] + sc['cli_incremental'])}.",
        "- Peak RSS = `ru_maxrss` of the CLI process tree's largest process (`wait4`).",
        "- The machine is shared: 'Machine contention' is the CPU other processes used during the measured runs; "
        "figures taken under contention are slower than on a quiet machine.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


# -- main -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="1 run of each, scales x4 only, 1 floor/peer run")
    p.add_argument("--runs", type=int, default=None, help="runs at x1, full and incremental (default 3)")
    p.add_argument("--scales", default=None, help="comma list of scale-ups (default 4,16)")
    p.add_argument("--scale-runs", type=int, default=1, help="runs at each scale-up (default 1)")
    p.add_argument("--peer-runs", type=int, default=None, help="runs of each client (default 3)")
    p.add_argument(
        "--peer-rate",
        type=float,
        default=0.0,
        help="requests/s for both clients in the koladapy comparison (default 0: both unthrottled)",
    )
    p.add_argument("--floor-runs", type=int, default=None, help="DuckDB floor runs (default 3)")
    p.add_argument(
        "--default-rate-runs",
        type=int,
        default=None,
        help=f"x1 CLI full + incremental at the default {DEFAULT_RATE:g} req/s (default 3, --quick 1; 0 = skip)",
    )
    p.add_argument(
        "--mirror",
        type=int,
        default=None,
        metavar="SCALE",
        help="the 'all of Kolada' mirror (--kpi-set all) at this server scale (default 72, --quick 0 = skip)",
    )
    p.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="pyinstrument profiles of run_refresh at x1: auto = when a x1 time target is missed",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=5.0,
        help="before each measurement, wait up to this many seconds for other processes to use "
        "< 0.5 cores (a shared machine); 0 = do not wait (default 5)",
    )
    p.add_argument(
        "--markdown",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write benchmarks/RESULTS.md (default: yes, except with --quick)",
    )
    args = p.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    scales_text = args.scales if args.scales is not None else ("4" if args.quick else "4,16")
    scales = [int(s) for s in scales_text.split(",") if s.strip()]
    peer_runs = args.peer_runs or (1 if args.quick else 3)
    floor_runs = args.floor_runs or (1 if args.quick else 3)
    default_rate_runs = args.default_rate_runs if args.default_rate_runs is not None else (1 if args.quick else 3)
    mirror_scale = args.mirror if args.mirror is not None else (0 if args.quick else 72)
    write_md = args.markdown if args.markdown is not None else not args.quick
    QUIET["max_wait"] = args.quiet_wait

    started = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    work = RESULTS / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    prefect_home = RESULTS / "prefect-home"  # kept between benchmark runs: migrated once
    prefect_home.mkdir(exist_ok=True)
    env = bench_env(prefect_home)
    res: dict[str, Any] = {
        "command": " ".join(["python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])]).strip(),
        "started_at": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "targets_spec": TARGETS,
        "scales": {},
        "settings": {
            "runs": runs,
            "scales": scales,
            "scale_runs": args.scale_runs,
            "peer_runs": peer_runs,
            "peer_rate": args.peer_rate,
            "floor_runs": floor_runs,
            "default_rate_runs": default_rate_runs,
            "mirror_scale": mirror_scale,
            "prefect_home": str(prefect_home),
            "rate_limit": "CLI --rate-limit 0 (KoladaClient: 0 = unlimited)",
        },
    }
    log(
        f"benchmark: x1 runs={runs}, scales={scales} x{args.scale_runs}, peer runs={peer_runs}; "
        f"{res['machine']['nproc']} cores, load {os.getloadavg()[0]:.1f}"
    )
    res["scales"]["1"] = run_scale(1, runs, env, work, incremental=True, warm_up=True, floor_runs=floor_runs)
    log("peer: our client vs koladapy")
    res["peer"] = run_peer(peer_runs, args.peer_rate, res["scales"]["1"]["kpis"], env, work)
    res["peer"]["koladapy_version"] = res["machine"]["versions"]["koladapy"]
    log("peer again, with the server in its own process (information)")
    res["peer_subprocess_server"] = run_peer(
        peer_runs, args.peer_rate, res["scales"]["1"]["kpis"], env, work, server="subprocess"
    )
    for scale in scales:
        res["scales"][str(scale)] = run_scale(scale, args.scale_runs, env, work, incremental=False, warm_up=False)
    if default_rate_runs:
        res["default_rate"] = run_default_rate(default_rate_runs, env, work)
        log(f"peer at the default rate: both clients at {DEFAULT_RATE:g} req/s")
        res["peer_default_rate"] = run_peer(1, DEFAULT_RATE, res["scales"]["1"]["kpis"], env, work)
    if mirror_scale:
        res["mirror"] = run_mirror(mirror_scale, env, work)

    rows, verdicts = build_rows(res)
    missed = {v["target"] for v in verdicts if v["passed"] is False}
    which = []
    full_targets = {"full_e2e", "full_flow", "scale_time_ratio", "default_full_floor"}
    if args.profile == "always" or (args.profile == "auto" and missed & full_targets):
        which.append("full")
    if args.profile == "always" or (
        args.profile == "auto" and missed & {"incr_e2e", "incr_flow", "default_incr_floor"}
    ):
        which.append("incremental")
    if which:
        res["profiles"] = run_profiles(env, work, which)
        rows.append(
            [
                f"Profiles (pyinstrument {res['machine']['versions'].get('pyinstrument')})",
                ", ".join(Path(f).name for f in res["profiles"].values()) + " in benchmarks/results/profiles/",
                "",
                "",
                "",
            ]
        )
    res["targets"] = verdicts
    res["table"] = rows
    res["finished_at"] = dt.datetime.now().isoformat(timespec="seconds")
    res["duration_seconds"] = time.perf_counter() - started
    (RESULTS / "latest.json").write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
    title = (
        f"kolada-pipeline benchmark, {res['finished_at']}, {res['machine']['nproc']} cores, "
        f"{res['duration_seconds'] / 60:.1f} min"
    )
    print_table(rows, title)
    passed = sum(bool(v["passed"]) for v in verdicts)
    print(f"{passed} of {len(verdicts)} targets met. JSON: {RESULTS / 'latest.json'}", flush=True)
    if write_md:
        write_markdown(res, rows, HERE / "RESULTS.md")
        print(f"Markdown: {HERE / 'RESULTS.md'}")
    shutil.rmtree(work / "warm-up", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
