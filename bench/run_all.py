"""Run every benchmark on PostgreSQL and write docs/performance.md (``make bench``).

Each script creates and drops its own database and measures its own floor in the same run; this
runner starts them one after another with modest defaults and a time limit each, reads the figures
they print, and writes them next to their floors, ratios and targets, with the machine, its load
average and the date. A script that fails or runs out of time is reported as such; whatever it
left behind (its server, its database) is cleaned up.

    .venv/bin/python bench/run_all.py [--quick] [--only pages,room_fanout] [--out docs/performance.md]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import PG_ADMIN, machine  # noqa: E402

#: The databases the scripts create; dropped again at the end whatever happened.
DATABASES = (
    "circlecare_bench",
    "circlecare_bench_pages",
    "circlecare_bench_room",
    "circlecare_bench_outcomes",
)
NUMBER = r"([0-9][0-9,]*\.?[0-9]*)"


@dataclass
class Figure:
    name: str
    measured: str
    floor: str
    ratio: str
    target: str
    met: str


@dataclass
class Run:
    key: str
    title: str
    command: list[str]
    timeout: int
    env: dict[str, str] = field(default_factory=dict)
    output: str = ""
    seconds: float = 0.0
    status: str = "not run"
    figures: list[Figure] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


def num(text: str) -> float:
    return float(text.replace(",", ""))


def find(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, re.MULTILINE)


def met(ok: bool) -> str:
    return "yes" if ok else "**no**"


# ----------------------------------------------------------------------------------- parsing


def parse_pages(run: Run) -> None:
    out = run.output
    at = find(r"throughput at ([0-9,]+) members", out)
    size = at.group(1).replace(",", " ") if at else "the largest size"
    row = re.compile(
        rf"^\s+(?P<name>[A-Za-z][A-Za-z ]+?)\s+{NUMBER} req/s\s+p99\s+{NUMBER} ms\s+errors (\d+)"
        rf"\s+\|\s+floor\s+{NUMBER} req/s\s+p99\s+{NUMBER} ms\s+\|\s+ratio {NUMBER}",
        re.MULTILINE,
    )
    pool = find(r"a pool of (\d+) connections per process", out)
    split = pool.start() if pool else len(out)
    for m in row.finditer(out):
        name, rps, p99, errors, frps, fp99, ratio = m.groups()
        how = (
            f"pool of {pool.group(1)} connections"
            if pool and m.start() > split
            else "a connection per request"
        )
        run.figures.append(
            Figure(
                name=f"Page: {name}, {size} members, {how} (req/s · p99)",
                measured=f"{num(rps):.0f} req/s · p99 {num(p99):.0f} ms"
                + (f" · {errors} errors" if errors != "0" else ""),
                floor=f"/health/ {num(frps):.0f} req/s · p99 {num(fp99):.0f} ms",
                ratio=f"{num(ratio):.2f}",
                target="≥ 0.4",
                met=met(num(ratio) >= 0.4 and errors == "0"),
            )
        )
    header = find(r"queries per page at (.+) members:", out)
    if header:
        sizes = [s.strip() for s in header.group(1).split(" / ")]
        run.extra.append("| Page | " + " | ".join(f"{s} members" for s in sizes) + " | Same? |")
        run.extra.append("|---" * (len(sizes) + 2) + "|")
        repeats: list[str] = []
        page = ""
        for line in out.splitlines():
            q = re.match(r"^    (\S[^\d\n]*?)\s+((?:\d+ / )*\d+)\s+(same|GROWS)$", line)
            if q:
                page = q.group(1)
                counts = q.group(2).split(" / ")
                run.extra.append(
                    f"| {page} | " + " | ".join(counts) + f" | {met(q.group(3) == 'same')} |"
                )
                continue
            r = re.match(r"^      repeated \((\d+) → (\d+)\): (.+)$", line)
            if r:
                repeats.append(f"- {page}: {r.group(1)} → {r.group(2)} × `{r.group(3)}…`")
        if repeats:
            run.extra += ["", "Queries that repeat once per row (smallest → largest size):", ""]
            run.extra += repeats
    costs = re.findall(rf"^    (\S.*?)\s+{NUMBER} ms, of which SQL\s+{NUMBER} ms$", out, re.M)
    if costs:
        run.extra += [
            "",
            "One request in-process at the largest size (median), and its SQL part:",
            "",
        ]
        run.extra += ["| Page | Request | of which SQL |", "|---|---|---|"]
        run.extra += [f"| {name} | {wall} ms | {sql} ms |" for name, wall, sql in costs]
    note = find(r"^  note: (.+)$", out)
    if note:
        run.extra.append("")
        run.extra.append(f"Note: {note.group(1)}")


def parse_enroll(run: Run) -> None:
    out = run.output
    join = find(rf"join\s+p50 {NUMBER} ms\s+p99 {NUMBER} ms\s+{NUMBER} req/s", out)
    floor = find(rf"/health p50 {NUMBER} ms\s+p99 {NUMBER} ms\s+{NUMBER} req/s", out)
    ratio = find(rf"throughput ratio join / floor: {NUMBER}", out)
    counts = find(
        r"confirmed (\d+)\s+waitlisted (\d+)\s+other (\d+)\s+errors (\d+)\s+"
        r"waiting list in arrival order: (\w+)",
        out,
    )
    if join and floor and ratio:
        r = num(ratio.group(1))
        run.figures.append(
            Figure(
                name="Enrolment burst: 200 concurrent “Take a seat”, 12 seats",
                measured=f"{num(join.group(3)):.0f} req/s · p99 {num(join.group(2)):.0f} ms",
                floor=f"/health/ {num(floor.group(3)):.0f} req/s · p99 {num(floor.group(2)):.0f} ms",
                ratio=f"{r:.2f}",
                target="≥ 0.5",
                met=met(r >= 0.5),
            )
        )
    if counts:
        confirmed, waitlisted, other, errors, order = counts.groups()
        ok = confirmed == "12" and other == "0" and errors == "0" and order == "yes"
        run.figures.append(
            Figure(
                name="Enrolment burst: correctness",
                measured=f"{confirmed} confirmed, {waitlisted} waitlisted, {other} other, "
                f"{errors} errors, arrival order {order}",
                floor="—",
                ratio="—",
                target="12 confirmed, rest waitlisted in order, 0 errors",
                met=met(ok),
            )
        )


def parse_outcomes(run: Run) -> None:
    out = run.output
    count = find(rf"COUNT\(\*\) full table, median:\s+{NUMBER} ms", out)
    report = find(rf"program_report, median:\s+{NUMBER} ms", out)
    ratio = find(rf"ratio report / COUNT\(\*\):\s+{NUMBER}", out)
    rows = find(rf"assessments table rows:\s+{NUMBER}", out)
    memory = find(rf"peak memory \(max RSS\):\s+{NUMBER} MiB", out)
    if count and report and ratio:
        r = num(ratio.group(1))
        rows_text = f"{rows.group(1)} assessments" if rows else "assessments"
        run.figures.append(
            Figure(
                name=f"Outcome report, 100 000 members ({rows_text})",
                measured=f"{num(report.group(1)):,.0f} ms",
                floor=f"COUNT(*) of the table {num(count.group(1)):,.0f} ms",
                ratio=f"{r:.2f}×",
                target="≤ 3×",
                met=met(r <= 3),
            )
        )
    if memory:
        run.extra.append(
            f"Peak memory of the process building and reporting: {memory.group(1)} MiB."
        )


def parse_room(run: Run) -> None:
    out = run.output
    latency = find(rf"latency p50 {NUMBER} ms, p99 {NUMBER} ms", out)
    floor = find(rf"floor: .*p99 {NUMBER} ms", out)
    ratio = find(rf"ratio fan-out p99 / floor p99: {NUMBER}", out)
    delivered = find(r"delivered (\d+)/(\d+) \(loss ([0-9.]+%)\)", out)
    cpu = find(rf"Chromium used {NUMBER} % of all cores", out)
    people = find(r"^  (\d+) people, 1 message/s", out)
    if latency and floor and ratio:
        p99 = num(latency.group(2))
        loss = f", loss {delivered.group(3)}" if delivered else ""
        run.figures.append(
            Figure(
                name=f"Room fan-out: {people.group(1) if people else '?'} people, 1 chat message/s each",
                measured=f"p50 {num(latency.group(1)):.1f} ms · p99 {p99:.1f} ms{loss}",
                floor=f"one websocket round trip p99 {num(floor.group(1)):.1f} ms",
                ratio=f"{num(ratio.group(1)):.2f}",
                target="p99 < 50 ms",
                met=met(p99 < 50 and (not delivered or delivered.group(1) == delivered.group(2))),
            )
        )
    if cpu:
        run.figures.append(
            Figure(
                name="4-person video mesh, 320×240 at 15 fps (Chromium)",
                measured=f"{num(cpu.group(1)):.0f} % of all cores",
                floor="—",
                ratio="—",
                target="informational",
                met="—",
            )
        )


PARSERS = {
    "pages": parse_pages,
    "enroll_burst": parse_enroll,
    "outcomes_scale": parse_outcomes,
    "room_fanout": parse_room,
}


# ----------------------------------------------------------------------------------- running


def execute(run: Run) -> None:
    print(f"\n=== {run.title}: {' '.join(run.command[1:])} (limit {run.timeout} s)", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        run.command,
        cwd=ROOT,
        env={**os.environ, **run.env},
        stdout=subprocess.PIPE,
        start_new_session=True,  # its own process group, so a time-out stops its servers too
    )
    chunks: list[bytes] = []

    def relay() -> None:
        """Show the script's output (its progress bars too) as it comes, and keep a copy."""
        assert proc.stdout is not None
        while chunk := os.read(proc.stdout.fileno(), 65536):
            chunks.append(chunk)
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=run.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        # SIGINT first: the script's own clean-up (stop the server, drop the database) runs.
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    reader.join(timeout=10)
    run.seconds = time.monotonic() - started
    run.output = without_progress(b"".join(chunks).decode("utf-8", "replace"))
    PARSERS[run.key](run)
    if timed_out:
        run.status = f"stopped after the {run.timeout} s limit"
    elif proc.returncode == 0:
        run.status = "ok"
    elif proc.returncode == 1 and run.figures:
        run.status = "ran; a target was missed (exit status 1)"
    else:
        run.status = f"failed (exit status {proc.returncode})"
    print(f"=== {run.title}: {run.status} in {run.seconds:.0f} s", flush=True)


def without_progress(text: str) -> str:
    """The output as a reader wants it: of each progress bar, only its final state."""
    kept = []
    for line in text.replace("\r", "\n").splitlines():
        bar = re.search(r"\[([#.]{10,})\]", line)
        if bar and "." in bar.group(1):
            continue
        kept.append(line)
    return "\n".join(kept)


def drop_databases() -> None:
    import psycopg

    with psycopg.connect(os.environ["BENCH_PG_ADMIN"], autocommit=True) as conn:
        for name in DATABASES:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def plan(quick: bool) -> list[Run]:
    py = sys.executable
    runs = [
        Run(
            "pages",
            "Pages under load and query counts",
            [py, "bench/pages.py", "--seconds", "2" if quick else "3"]
            + (["--sizes", "10,100,1000"] if quick else []),
            timeout=900,
        ),
        Run(
            "enroll_burst",
            "Enrolment burst",
            [py, "bench/enroll_burst.py"],
            timeout=600,
        ),
    ]
    if (ROOT / "bench" / "outcomes_scale.py").exists():
        runs.append(
            Run(
                "outcomes_scale",
                "Outcome report at scale",
                [py, "bench/outcomes_scale.py", "--members", "10000" if quick else "100000"],
                timeout=1500,
            )
        )
    video = shutil.which("chromium") or Path("/usr/bin/chromium").exists()
    runs.append(
        Run(
            "room_fanout",
            "Room fan-out",
            [py, "bench/room_fanout.py", "--seconds", "10" if quick else "20"]
            + ([] if video and not quick else ["--no-video"]),
            timeout=600,
            env={"REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")},
        )
    )
    return runs


def write(runs: list[Run], out: Path, started: datetime, loads: tuple[str, str]) -> None:
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`bench/run_all.py`); every figure below comes from one run of the",
        "suite on PostgreSQL, each next to its floor measured in the same run on the same server.",
        "",
        f"- **Date**: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- **Machine**: {machine().rsplit(',', 1)[0]}",
        f"- **Load average** (1 min) at the start and the end of the run: {loads[0]} → {loads[1]}. "
        "The machine is shared with other work, so absolute figures are lower and noisier than on "
        "a dedicated server; the ratios to the floors are the figures to compare between runs.",
        "",
        "## Figures",
        "",
        "| Figure | Measured | Floor (same run) | Ratio | Target | Met |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        for f in run.figures:
            lines.append(
                f"| {f.name} | {f.measured} | {f.floor} | {f.ratio} | {f.target} | {f.met} |"
            )
        if not run.figures:
            lines.append(f"| {run.title} | no figures ({run.status}) | — | — | — | **no** |")
    lines += ["", "## Runs", ""]
    lines.append("| Script | Command | Result | Time |")
    lines.append("|---|---|---|---|")
    for run in runs:
        command = " ".join(["python", *run.command[1:]])
        lines.append(f"| {run.key} | `{command}` | {run.status} | {run.seconds:.0f} s |")
    pages = next((r for r in runs if r.key == "pages"), None)
    if pages and pages.extra:
        lines += ["", "## Queries per page", "", "Target: the same number at every size.", ""]
        lines += pages.extra
    lines += ["", "## How each figure is measured", "", *METHODS, ""]
    for run in runs:
        if run.extra and run.key != "pages":
            lines += [f"{run.title}: " + " ".join(run.extra), ""]
    lines += ["## Raw output", ""]
    for run in runs:
        lines += [f"### {run.key}", "", "```text", run.output.rstrip() or "(nothing)", "```", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))


METHODS = [
    "- **Pages** (`bench/pages.py`): the catalog (`/groups/`), a cohort page, “My groups” (`/my/`),",
    "  a clinician's roster and the coordinator's outcome report, served by uvicorn with two worker",
    "  processes. A second process (`bench/_load.py`) keeps 16 keep-alive connections busy against",
    "  one page at a time; `/health/` (one database round trip) is measured for the same time just",
    "  before each page, three turns of floor then page, and the ratio is the median of the turns'",
    "  page ÷ floor, so a burst of other work on the machine in one turn does not decide it.",
    "  Each is measured twice: with a new database",
    "  connection per request, and with a pool of open connections per process (the deployed",
    "  setting, `DATABASE_POOL_MAX_SIZE`), which makes every request cheaper, the floor most of all.",
    "  Under each page's line the raw output gives the CPU time per request of the server's",
    "  processes, PostgreSQL's and the load generator's (from /proc): with a new connection per",
    "  request PostgreSQL does close to half the work, starting a backend for every request; with",
    "  the pool almost all of it is the server's Python.",
    "  Signed-in pages use session cookies made in",
    "  the session store, with the staff second-factor rule off (sign-in is not what it measures).",
    "  Queries are counted in-process with Django's test client on the same database as it grows",
    "  from 10 to 1 000 to 10 000 members: groups of ten, the measured cohort's waiting list (one",
    "  member in 50) shown on its roster, and the viewer's “My groups” (2, 3 and 4 groups) growing",
    "  with it. The outcome report covers every therapy group (PHQ-9 at intake and week 8).",
    "- **Enrolment burst** (`bench/enroll_burst.py`): 200 signed-in members press “Take a seat” at",
    "  once on a 12-seat group over HTTP, each having opened the group's page first (as they must",
    "  to see the button); the floor is 200 concurrent `/health/` requests. The raw output splits",
    "  the CPU per request between the server, PostgreSQL and the client for both.",
    "- **Outcome report** (`bench/outcomes_scale.py`): `program_report` over 100 000 members ×",
    "  9 PHQ-9 administrations, against one `COUNT(*)` of the same table, taking turns seven",
    "  times; the ratio is the median of the turns' ratios.",
    "- **Room fan-out** (`bench/room_fanout.py`): a full room (12 asked for, capped at the room's",
    "  `ROOM_MAX_PEERS` of 10) through two server processes and the Redis channel layer, each person",
    "  sending one chat message a second; latency is send → arrival at every other person. The floor",
    "  is one websocket round trip that does not touch the layer. The video mesh figure is the CPU",
    "  Debian's Chromium uses for 4 peers at 320×240.",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter runs")
    parser.add_argument("--only", default="", help="comma-separated script names")
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args()
    runs = plan(args.quick)
    if args.only:
        wanted = set(args.only.split(","))
        runs = [r for r in runs if r.key in wanted]
    # The scripts name the server two ways; give them the same one.
    server = os.environ.get("BENCH_PG", PG_ADMIN.rsplit("/", 1)[0]).rstrip("/")
    os.environ["BENCH_PG"] = server
    os.environ["BENCH_PG_ADMIN"] = f"{server}/postgres"
    started = datetime.now(UTC)
    load_start = f"{os.getloadavg()[0]:.2f}"
    try:
        for run in runs:
            execute(run)
    finally:
        drop_databases()
    load_end = f"{os.getloadavg()[0]:.2f}"
    write(runs, Path(args.out), started, (load_start, load_end))
    print(f"\nWrote {args.out}")
    # Missed targets are findings, written down; a script that could not run is a failure.
    return 0 if all(r.status == "ok" or r.status.startswith("ran;") for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
