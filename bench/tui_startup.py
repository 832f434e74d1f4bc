"""Start-up of `qa chat`: wall time from process start to the question box mounted, focused
and painted (the model and index load afterwards, in a worker).

    .venv/bin/python bench/tui_startup.py [--runs 7]   # prints, writes bench/results/tui-startup.json

Each run starts a fresh `python` that goes through the real `qa chat` command (typer, settings,
the app) with a headless driver; the app exits on its first refresh. Caches are warm when the
OS has the files in memory (the first, discarded run sees to that).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = """
import os, sys, time
from qa import cli
import tui.app

mount = tui.app.ChatApp.on_mount
run = tui.app.ChatApp.run

def painted(self):
    assert self.focused is self.query_one(tui.app.QuestionInput)
    os.write(1, f"{time.time()}\\n".encode())
    self.exit()

def on_mount(self):
    mount(self)
    self.call_after_refresh(painted, self)

tui.app.ChatApp.on_mount = on_mount
tui.app.ChatApp.run = lambda self, **kwargs: run(self, headless=True)
sys.argv = ["qa", "chat"]
cli.main()
"""


def one_run(env: dict[str, str] | None = None) -> float:
    started = time.time()
    result = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, capture_output=True, text=True, check=True, env=env)
    return float(result.stdout.split()[0]) - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    import os

    env = dict(os.environ)
    env.setdefault("QA_INDEX_DIR", tempfile.mkdtemp(prefix="qa-startup-"))  # no index needed to show the box
    one_run(env)  # warm the file cache
    times = [one_run(env) for _ in range(args.runs)]
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "runs": args.runs,
        "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
        "times_s": [round(t, 3) for t in times],
    }
    print(f"qa chat: process start to question box: median {result['median_s']} s, max {result['max_s']} s ({args.runs} runs)")
    out = REPO / "bench" / "results" / "tui-startup.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
