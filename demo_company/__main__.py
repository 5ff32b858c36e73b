"""Command line: write the demo company to a folder and print what it holds.

python -m demo_company --out data/demo --as-of 2026-06-30 --seed 42 --scale 1
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from demo_company.simulator import DemoConfig
from demo_company.writer import read_manifest, write_demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo_company", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    parser.add_argument(
        "--anchor",
        type=date.fromisoformat,
        default=None,
        help="day the stories are dated from (default: the as-of day)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    config = DemoConfig(as_of=args.as_of, seed=args.seed, scale=args.scale, anchor=args.anchor)
    paths = write_demo(args.out, config)
    elapsed = time.perf_counter() - started
    manifest = read_manifest(paths) or {}
    print(f"demo company as of {args.as_of} (seed {args.seed}, scale {args.scale})")
    print(f"in {paths.directory}")
    for table, count in manifest.get("rows", {}).items():
        print(f"  {table:<20} {count:>12,}")
    print(f"written in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
