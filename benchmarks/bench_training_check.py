"""What the wizard's data check costs now that it decodes every pair as training does.

Before, the check read image headers only (`image_size` of photo and mask); now
`pairing.check_pair` decodes both (EXIF orientation included), which is what catches a
truncated photo or a mask drawn on the stored pixels of a rotated one. This times both
on real pairs of crackpool (small crops) and CrackForest (480x320) and extrapolates to the
whole crackpool set, the largest a user is likely to point the wizard at.

    .venv/bin/python benchmarks/bench_training_check.py [--pairs 400]

Prints a table with the CPU model; writes benchmarks/results/training_check.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crackinspector.core.infer.hardware import cpu_model  # noqa: E402
from crackinspector.core.io.imageio import image_size  # noqa: E402
from crackinspector.core.io.pairing import check_pair, pair_folders  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def header_check(pair) -> None:
    image_size(pair.image)
    image_size(pair.mask)


def time_per_pair(fn, pairs) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) per pair; on a shared machine the CPU
    time is the steadier of the two."""
    wall, cpu = time.perf_counter(), time.process_time()
    for pair in pairs:
        fn(pair)
    return (time.perf_counter() - wall) / len(pairs), (time.process_time() - cpu) / len(pairs)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=400, help="pairs timed per set")
    args = p.parse_args()
    rows = []
    for name in ("crackpool", "crackforest"):
        all_pairs = pair_folders(DATA / name / "images", DATA / name / "masks", check=False).pairs
        step = max(1, len(all_pairs) // args.pairs)
        pairs = all_pairs[::step][: args.pairs]
        time_per_pair(header_check, pairs[:20])  # warm the file cache for both
        time_per_pair(check_pair, pairs[:20])
        header, header_cpu = time_per_pair(header_check, pairs)
        decode, decode_cpu = time_per_pair(check_pair, pairs)
        rows.append({
            "set": name, "pairs_timed": len(pairs), "pairs_in_set": len(all_pairs),
            "header_ms_per_pair": round(header * 1000, 3),
            "decode_ms_per_pair": round(decode * 1000, 3),
            "header_cpu_ms_per_pair": round(header_cpu * 1000, 3),
            "decode_cpu_ms_per_pair": round(decode_cpu * 1000, 3),
            "whole_set_header_s": round(header * len(all_pairs), 1),
            "whole_set_decode_s": round(decode * len(all_pairs), 1),
        })  # fmt: skip
    result = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "rows": rows,
    }
    print(f"CPU: {result['cpu']} ({result['cores']} cores, load {result['load_average']})")
    title = "whole set, wall (header / decode)"
    print(f"{'set':<12} {'pairs':>6} {'header ms':>16} {'decode ms':>16} {title:>34}")
    print(f"{'':<12} {'':>6} {'wall (cpu)':>16} {'wall (cpu)':>16}")
    for r in rows:
        whole = f"{r['whole_set_header_s']} s / {r['whole_set_decode_s']} s ({r['pairs_in_set']})"
        head = f"{r['header_ms_per_pair']} ({r['header_cpu_ms_per_pair']})"
        dec = f"{r['decode_ms_per_pair']} ({r['decode_cpu_ms_per_pair']})"
        print(f"{r['set']:<12} {r['pairs_timed']:>6} {head:>16} {dec:>16} {whole:>34}")
    out = ROOT / "benchmarks" / "results" / "training_check.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
