"""Evaluation runs through real Celery workers, on Redis and PostgreSQL, persistence included.

One scorecard of 30 rules (as in benchmarks/evaluation.py: `custom("score") >= N and
entity.hasGroup("g")`) over 2,500, 5,000 and 10,000 of 10,000 entities, with a worker of one
process and then of two. Each size is measured twice: a first run (every result row inserted) and
a second run with nothing changed. A measurement starts before `run_start` (which creates the run
and its chunks and enqueues them) and ends when polling sees the run row `succeeded`.

It creates a throwaway database (default `scorecards_bench`, dropped at the end; it must not exist
with data you care about) and uses its own queue on the given Redis database:

    .venv/bin/python benchmarks/workers.py
    .venv/bin/python benchmarks/workers.py --sizes 10000 --workers 2 --chunk-sizes 250,500,1000,2000

Before each first run the result tables are truncated; after it they are ANALYZEd (what autovacuum
does within a minute on a live database), so the second run plans on real statistics. Each worker is
warmed up with one small run before measuring. Every case is measured --repeat times (default 3): the
table shows the median and the range. Before each measurement it waits (up to 2 minutes) until the
machine is idle, since anything else running on 2 cores shows in the figures.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="server URL, no database")
    parser.add_argument("--database", default="scorecards_bench", help="throwaway database to create and drop")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="broker (a Redis database)")
    parser.add_argument("--entities", type=int, default=10_000, help="entities built (the largest size)")
    parser.add_argument("--sizes", default="2500,5000,10000", help="entities per measured run")
    parser.add_argument("--workers", default="1,2", help="worker concurrencies to measure")
    parser.add_argument("--rules", type=int, default=30)
    parser.add_argument("--chunk-sizes", default="", help="EVALUATION_CHUNK_SIZE values (default: the setting)")
    parser.add_argument("--repeat", type=int, default=3, help="measure each case this often; the median is shown")
    parser.add_argument("--log-dir", default="", help="keep the worker logs here (default: a temporary folder)")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    if "bench" not in ARGS.database:
        sys.exit(f"refusing to create and drop {ARGS.database!r}: the name must contain 'bench'")
    server = urlsplit(ARGS.postgres)
    DATABASE_URL = urlunsplit((server.scheme, server.netloc, f"/{ARGS.database}", "", ""))
    QUEUE = f"bench-{os.getpid()}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="scorecards_site.settings.base",
        DATABASE_URL=DATABASE_URL,
        CELERY_BROKER_URL=ARGS.redis,
        CELERY_QUEUE=QUEUE,
        CELERY_TASK_ALWAYS_EAGER="false",
        LOG_LEVEL="WARNING",
    )

import django  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scorecards_site.settings.base")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from benchmarks.evaluation import build  # noqa: E402

CHUNK_LINE = re.compile(r"run (\d+) chunk (\d+): (\d+) rules in ([0-9.]+)s")


@dataclass
class Measurement:
    workers: int
    chunk_size: int
    entities: int
    label: str
    seconds: float
    enqueue_seconds: float
    rule_evaluations: int
    results_written: int
    chunks: int
    chunk_seconds: float  # sum over chunks of claim..done, as the chunks themselves record it

    @property
    def per_thousand(self) -> float:
        return self.seconds / self.entities * 1000


class Worker:
    """`celery worker` in a process group of its own, logging to a file."""

    def __init__(self, concurrency: int, log_dir: Path) -> None:
        self.concurrency = concurrency
        self.log_path = log_dir / f"worker-{concurrency}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Worker:
        env = {**os.environ, "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "scorecards_site",
            "worker",
            f"--concurrency={self.concurrency}",
            "--loglevel=INFO",
            "-Q",
            os.environ["CELERY_QUEUE"],
            "-n",
            f"bench{self.concurrency}-{os.getpid()}@%h",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while "ready." not in self.log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {self.log_path}")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log.close()


def forget_queue() -> None:
    """Remove what Redis keeps about this run's own queue (its bindings), so nothing piles up."""
    import redis

    client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    for key in client.scan_iter(match=f"*{os.environ['CELERY_QUEUE']}*"):
        client.delete(key)
    client.close()


def reset_results() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE evaluations_ruleresult, evaluations_entityscore, evaluations_scorehistory, "
            "evaluations_evaluationchunk, evaluations_evaluationrun CASCADE"
        )


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE evaluations_ruleresult, evaluations_entityscore, evaluations_scorehistory")


def _cpu_times() -> tuple[int, int]:
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # all, idle + iowait


def wait_until_quiet(limit: float = 120.0) -> None:
    """The machine has 2 cores: wait (up to `limit` seconds) until nothing else keeps them busy."""
    if not Path("/proc/stat").exists():
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        total, idle = _cpu_times()
        time.sleep(1)
        total2, idle2 = _cpu_times()
        if (idle2 - idle) / max(total2 - total, 1) >= 0.9:
            return
    print("  (the machine stayed busy with other work; measuring anyway)", flush=True)


def measure(scorecard, ids: list[int] | None, *, workers: int, chunk_size: int, label: str) -> Measurement:
    from apps.evaluations.models import EvaluationChunk, EvaluationRun, RunStatus
    from apps.evaluations.runs import run_start

    settings.EVALUATION_CHUNK_SIZE = chunk_size
    wait_until_quiet()
    started = time.perf_counter()
    run = run_start(scorecard=scorecard, entity_ids=ids)
    enqueued = time.perf_counter() - started
    status = run.status
    while status not in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"run {run.pk} did not finish in 10 minutes")
        time.sleep(0.02)
        status = EvaluationRun.objects.filter(pk=run.pk).values_list("status", flat=True).get()
    seconds = time.perf_counter() - started
    run.refresh_from_db()
    if status != RunStatus.SUCCEEDED:
        raise RuntimeError(f"run {run.pk} {status}: {run.error}")
    chunk_seconds = sum(
        (finished - begun).total_seconds()
        for begun, finished in EvaluationChunk.objects.filter(run=run).values_list("started_at", "finished_at")
    )
    return Measurement(
        workers=workers,
        chunk_size=chunk_size,
        entities=run.entities_total,
        label=label,
        seconds=seconds,
        enqueue_seconds=enqueued,
        rule_evaluations=run.rule_evaluations,
        results_written=run.results_written,
        chunks=run.total_chunks,
        chunk_seconds=chunk_seconds,
    )


def print_table(rows: list[Measurement]) -> None:
    """One line per case: the median of its repetitions, with their range."""
    cases: dict[tuple, list[Measurement]] = {}
    for row in rows:
        cases.setdefault((row.workers, row.chunk_size, row.entities, row.label), []).append(row)
    header = (
        "| workers | chunk size | entities | run | seconds (median) | range | s per 1,000 entities "
        "| rule evaluations/s | rows written | chunks | time inside chunks, sum (mean per chunk) |"
    )
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for repeats in cases.values():
        repeats.sort(key=lambda row: row.seconds)
        row = repeats[(len(repeats) - 1) // 2]
        print(
            f"| {row.workers} | {row.chunk_size} | {row.entities:,} | {row.label} | {row.seconds:.2f} "
            f"| {repeats[0].seconds:.2f}–{repeats[-1].seconds:.2f} | {row.per_thousand:.2f} "
            f"| {row.rule_evaluations / row.seconds:,.0f} | {row.results_written:,} | {row.chunks} "
            f"| {row.chunk_seconds:.1f} s ({row.chunk_seconds / row.chunks:.2f} s) |"
        )


def main(args: argparse.Namespace) -> None:
    from django.test.utils import setup_test_environment

    if connection.vendor != "postgresql":
        sys.exit("this benchmark needs PostgreSQL")
    sizes = [int(size) for size in args.sizes.split(",")]
    concurrencies = [int(n) for n in args.workers.split(",")]
    chunk_sizes = [int(n) for n in args.chunk_sizes.split(",") if n] or [settings.EVALUATION_CHUNK_SIZE]
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="scorecards-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)

    setup_test_environment()
    settings.CELERY_TASK_ALWAYS_EAGER = False  # setup_test_environment leaves Celery alone; be explicit
    connection.settings_dict.setdefault("TEST", {})["NAME"] = args.database
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    rows: list[Measurement] = []
    try:
        started = time.perf_counter()
        scorecard, ids = build(max(args.entities, *sizes), args.rules)
        print(
            f"database {args.database} on {args.postgres}; broker {args.redis} queue {os.environ['CELERY_QUEUE']}; "
            f"built {len(ids):,} entities and {args.rules} rules in {time.perf_counter() - started:.1f}s; "
            f"worker logs in {log_dir}",
            flush=True,
        )
        for concurrency in concurrencies:
            with Worker(concurrency, log_dir):
                reset_results()
                warm_up = min(chunk_sizes)
                measure(scorecard, ids[: 2 * warm_up], workers=concurrency, chunk_size=warm_up, label="warm-up")
                for chunk_size in chunk_sizes:
                    for size, _ in ((size, n) for size in sizes for n in range(args.repeat)):
                        subset = None if size >= len(ids) else ids[:size]
                        reset_results()
                        for label in ("first", "second"):
                            row = measure(scorecard, subset, workers=concurrency, chunk_size=chunk_size, label=label)
                            rows.append(row)
                            print(
                                f"  {concurrency} worker(s), chunk {chunk_size}, {row.entities:,} entities, {label} "
                                f"run: {row.seconds:.2f}s, {row.results_written:,} rows written",
                                flush=True,
                            )
                            if label == "first":
                                analyze()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        forget_queue()
    print()
    print_table(rows)


if __name__ == "__main__":
    main(ARGS)
