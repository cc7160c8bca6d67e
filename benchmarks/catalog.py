"""Catalogue loading speed on the Myntra catalogue: whole load + validation, and image verification
serial vs threaded, measured side by side in one run.

    python -m benchmarks.catalog [--repeats 3]
"""

from __future__ import annotations

import argparse

from aisle.catalog import load_catalog
from aisle.catalog.images import check_images
from benchmarks._common import interleaved, median, shared_data_or_exit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    myntra = shared_data_or_exit() / "myntra"
    images = sorted((myntra / "images").glob("*.jpg"))
    rows = load_catalog(f"myntra:{myntra}").report.total_rows

    times = interleaved(
        {
            "images serial": lambda: check_images(images, workers=1),
            "images 2 processes": lambda: check_images(images, workers=2),
            "full load + validation": lambda: load_catalog(f"myntra:{myntra}"),
        },
        args.repeats,
    )
    base = median(times["images serial"])
    print(f"Myntra: {rows:,} rows, {len(images):,} images, median of {args.repeats} interleaved runs")
    print(f"{'what':<24} {'median s':>9} {'items/s':>10} {'vs serial':>10}")
    for name, values in times.items():
        count = rows if name.startswith("full") else len(images)
        ratio = f"{base / median(values):.2f}x" if name.startswith("images") else ""
        print(f"{name:<24} {median(values):>9.2f} {count / median(values):>10,.0f} {ratio:>10}")


if __name__ == "__main__":
    main()
