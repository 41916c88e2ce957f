"""`crackinspector merge`: one output folder from the folders of `--shard I/N` runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """\
example (two machines, or two jobs of a scheduler, then one merge):
  crackinspector export photos/ --out part1/ --shard 1/2
  crackinspector export photos/ --out part2/ --shard 2/2
  crackinspector merge part1/ part2/ --out report/
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    from crackinspector.core.pipeline.export import FORMATS

    p = sub.add_parser(
        "merge",
        help="merge the output folders of --shard runs of predict or export",
        description="Merge the output folders of `predict --shard` or `export --shard` runs: "
        "per-photo files are copied, reports and summary.csv rebuilt over all photos in the "
        "order of the whole photo list.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shards", nargs="+", metavar="SHARD_DIR", type=Path)
    p.add_argument("--out", "-o", required=True, metavar="DIR", type=Path, help="merged folder")
    p.add_argument("--formats", default=",".join(FORMATS), help="reports to write (export shards)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from crackinspector.core.pipeline.export import check_formats
    from crackinspector.core.pipeline.merge import merge_shards
    from crackinspector.core.pipeline.outputs import WriteFailed

    formats = check_formats([f.strip() for f in args.formats.split(",") if f.strip()], "overwrite")
    try:
        result = merge_shards(args.shards, args.out, formats)
    except WriteFailed as exc:
        print(f"crackinspector: error: {exc.problem}", file=sys.stderr)
        return 1
    print(
        f"{result.images} photo(s) of {len(args.shards)} {result.kind} shard(s) merged; "
        f"{len(result.written)} files written in {result.out_dir}"
    )
    return 0
