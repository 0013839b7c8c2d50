"""One benchmark, two commits, one run: the rounds interleave (base, this tree, base, this tree …) so that
a noisy machine weighs on both alike; the figures are medians over the rounds, with their ratios.

    .venv/bin/python bench/compare.py --base 33f761d [--script bench/engine.py] [--rounds 5] [-- --cases 100]

The base commit is checked out in a temporary git worktree and run with this virtualenv's Python (its
dependencies must be installed here too). Arguments after `--` go to the benchmark script. On SQLite
each run has a temporary file of its own; DATABASE_URL=postgresql://… runs both on that scratch database. The last
line of output is one JSON object: {"base": {...}, "head": {...}, "ratio": {...}} of the medians.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def flat(figures: dict, prefix: str = "") -> dict[str, float]:
    """The numeric figures of a benchmark's JSON, nested ones as `outer.inner`."""
    result = {}
    for key, value in figures.items():
        if isinstance(value, dict):
            result.update(flat(value, f"{prefix}{key}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            result[f"{prefix}{key}"] = float(value)
    return result


def run_once(tree: Path, script: str, arguments: list[str]) -> dict[str, float]:
    env = dict(os.environ)
    if env.get("DATABASE_URL", "").startswith("sqlite"):
        del env["DATABASE_URL"]  # each run on a fresh temporary file, as the scripts do by default
    done = subprocess.run([sys.executable, str(tree / script), *arguments], cwd=tree, capture_output=True,
                          text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{tree / script} failed:\n{done.stderr[-4000:]}")
    return flat(json.loads(done.stdout.strip().splitlines()[-1]))


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    keys = set.intersection(*(set(r) for r in rounds))
    return {key: round(statistics.median(r[key] for r in rounds), 4) for key in sorted(keys)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the commit to compare this tree against")
    parser.add_argument("--script", default="bench/engine.py")
    parser.add_argument("--rounds", type=int, default=5)
    options, arguments = parser.parse_known_args(argv)
    arguments = [a for a in arguments if a != "--"]
    with tempfile.TemporaryDirectory(prefix="bench-base-") as scratch:
        base_tree = Path(scratch) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), options.base], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            base, head = [], []
            for number in range(1, options.rounds + 1):
                base.append(run_once(base_tree, options.script, arguments))
                head.append(run_once(ROOT, options.script, arguments))
                print(f"round {number}: done", file=sys.stderr)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, check=True)
    base_m, head_m = medians(base), medians(head)
    result = {"base_commit": options.base, "rounds": options.rounds, "base": base_m, "head": head_m,
              "ratio": {key: round(head_m[key] / base_m[key], 3) for key in head_m if base_m.get(key)}}
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
