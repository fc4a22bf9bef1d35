"""Fit the shipped device prior of ``cpu/nb201-32`` from HELP's 20 development devices.

Reads ../shared/data/nb201_latency_dev_devices.csv (HELP, NeurIPS 2021, MIT licence:
``HayeonLee/HELP`` ``data/nasbench201/latency``; 15,625 NB201 networks × 20 device
settings) and writes ``latency_tables/priors/nb201-32.json``: the mean and covariance of the
devices' normalized per-op-group scales (``nascli.latency.prior``). nascli reads only that
file at run time, never the CSV.

    python benchmarks/latency_prior.py [--table latency_tables/cpu/nb201-32.json] [--out ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from latency_calibration import DATA, ROOT, TABLE, load_help_csv

from nascli.latency.prior import build_prior
from nascli.latency.table import LatencyTable

SOURCE = {
    "data": "HELP (Lee et al., NeurIPS 2021), MIT licence",
    "repository": "HayeonLee/HELP",
    "files": "data/nasbench201/latency (20 development device settings; no test or "
    "meta-validation device)",
    "script": "benchmarks/latency_prior.py",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", default=str(TABLE))
    parser.add_argument("--out", default=str(ROOT / "latency_tables" / "priors" / "nb201-32.json"))
    args = parser.parse_args()
    if not DATA.is_file():
        raise SystemExit(f"missing {DATA}")
    archs, devices, latencies = load_help_csv()
    base = LatencyTable.load(args.table)
    source = {**SOURCE, "base_table": str(Path(args.table).resolve().relative_to(ROOT))}
    prior = build_prior(base, archs, latencies, devices, source)
    prior.save(Path(args.out))
    print(f"wrote {args.out}: {len(devices)} devices, groups {prior.groups}")
    print("explained variance", prior.meta["explained_variance"])
    for name, fit in prior.meta["full_fit"].items():
        print(f"  {name:16s} full-fit spearman {fit['spearman']:.4f} mape {fit['mape_pct']:.2f} %")


if __name__ == "__main__":
    main()
