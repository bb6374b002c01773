#!/usr/bin/env python3
"""Transform benchmark: validate+transform against validate-only, same binary, same run.

Usage (from the repository root, after `cargo build --release --locked`):
  python3 benches/transform/bench.py                     # 50 MB, median of 3 runs
  python3 benches/transform/bench.py --sizes 50,10 --runs 5 --json /tmp/transform.json

For each size a valid XBau baugenehmigung.antrag.0200 is generated (benches/xsd/gen_xbau.py,
written to a temp dir and removed). Then --runs rounds, each running once, in this order:
  validate   `poststelle validate --schema ENTRY big.xml`
  transform  `poststelle transform --binaries TMP big.xml > /dev/null` (schema found by the root
             element through the registry: the same entry XSD; one streaming pass validates and
             writes the JSON to a spool (in memory up to 16 MiB, beyond in an unnamed temporary
             file; for a document over 32 MiB the file from the start), which is copied to
             stdout once the document is known to be valid; base64 payloads go to TMP)
Reported: median wall and CPU time, MB/s (1 MB = 10^6 bytes), peak RSS (`/usr/bin/time -v`,
maximum over the runs) and the throughput ratio transform/validate (issue 4 goal: ≥ 0.60;
issue 18 goal: ≥ 0.80), the median of the per-round ratios, with their range: on a shared
machine a slow stretch then hits both runs of a round instead of biasing one command.
Exit 1 if the ratio (by CPU time) is below --min-ratio, or if the transform's peak RSS is above
--max-rss-mb (default 64 MB = 64 * 10^6 bytes: the transform streams, so its memory must not
follow the document size).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "xsd"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "conformance"))
import bench as xsd_bench  # noqa: E402  (timed runs, median, RSS)
import engines as eng  # noqa: E402
import gen_xbau  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--poststelle", default=None, help="binary (default target/release/poststelle or $POSTSTELLE_BIN)")
    ap.add_argument("--shared", default=eng.shared_dir())
    ap.add_argument("--sizes", default="50", help="MB of the generated messages, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--min-ratio", type=float, default=0.6)
    ap.add_argument("--max-rss-mb", type=float, default=64.0,
                    help="most peak RSS of the transform, MB (10^6 bytes)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    binary = args.poststelle or eng.default_poststelle()
    if not os.path.exists(binary):
        raise SystemExit(f"no poststelle binary at {binary}: run `cargo build --release --locked`")
    os.environ["POSTSTELLE_SHARED"] = args.shared
    rows, status = [], 0
    with tempfile.TemporaryDirectory(prefix="transform-bench-") as tmp:
        for size in [float(s) for s in args.sizes.split(",")]:
            path = os.path.join(tmp, f"xbau-{size:g}mb.xml")
            info = gen_xbau.generate(args.shared, size, path)
            mb = info["bytes"] / 1e6
            bins = os.path.join(tmp, "binaries")
            os.makedirs(bins, exist_ok=True)
            row = {"size_mb": round(mb, 1), "entry": os.path.relpath(info["entry"], args.shared)}
            print(f"\n{path} ({mb:.1f} MB), entry {row['entry']}, median of {args.runs} paired runs")
            cmds = {
                "validate": [binary, "validate", "--schema", info["entry"], path],
                "transform": [binary, "transform", "--binaries", bins, path],
            }
            # Paired: each round runs validate, then transform, and the ratio is taken per round.
            # A slow stretch of a shared machine then slows both runs of a round instead of
            # all runs of one command, and the median of the per-round ratios stays put.
            runs = {name: [] for name in cmds}
            for _ in range(args.runs):
                for name, cmd in cmds.items():
                    runs[name].append(xsd_bench.timed(cmd))
            for name, got in runs.items():
                walls, rss, codes, cpus = zip(*got)
                r = {"median_s": statistics.median(walls), "min_s": min(walls),
                     "cpu_s": statistics.median(cpus), "max_rss_kib": max(rss),
                     "exit": max(codes, key=abs)}
                r["mb_per_s"] = mb / r["median_s"]
                r["mb_per_cpu_s"] = mb / r["cpu_s"] if r["cpu_s"] else 0.0
                row[name] = r
                print(f"  {name:<10} {r['median_s']:7.3f} s  {r['mb_per_s']:6.1f} MB/s  (CPU {r['cpu_s']:.2f} s, "
                      f"{r['mb_per_cpu_s']:.1f} MB/CPU-s)  peak RSS {r['max_rss_kib'] / 1024:7.1f} MiB  exit {r['exit']}")
            pairs = list(zip(runs["validate"], runs["transform"]))
            # Throughput ratio transform/validate = time(validate) / time(transform), per round.
            ratio = statistics.median(v[0] / t[0] for v, t in pairs)
            cpu_ratio = statistics.median(v[3] / t[3] if t[3] else 0.0 for v, t in pairs)
            spread = sorted(v[3] / t[3] if t[3] else 0.0 for v, t in pairs)
            row["ratio_wall"], row["ratio_cpu"] = ratio, cpu_ratio
            row["ratio_cpu_range"] = [spread[0], spread[-1]]
            print(f"  transform / validate throughput: {ratio:.2f} wall, {cpu_ratio:.2f} CPU "
                  f"(per-round CPU ratios {spread[0]:.2f}–{spread[-1]:.2f}; goal ≥ {args.min_ratio})")
            if cpu_ratio < args.min_ratio:
                status = 1
            rss = {k: row[k]["max_rss_kib"] * 1024 / 1e6 for k in ("validate", "transform")}
            row["peak_rss_mb"] = rss
            ok = rss["transform"] <= args.max_rss_mb
            print(f"  peak RSS: validate {rss['validate']:.1f} MB, transform {rss['transform']:.1f} MB "
                  f"(limit {args.max_rss_mb:g} MB: {'ok' if ok else 'EXCEEDED'})")
            if not ok:
                status = 1
            if row["transform"]["exit"] != 0 or row["validate"]["exit"] != 0:
                print("  a run failed (exit code above)")
                status = 1
            os.remove(path)
            rows.append(row)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return status


if __name__ == "__main__":
    sys.exit(main())
