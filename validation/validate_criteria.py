"""Validation figures of the criteria's variants and approximations on Occitanie.

Prints, for the 161 EPCI of Occitanie (``zoning.validation``):

* criterion 2: Spearman rank correlation between the APL-based share of the GP supply from
  older doctors (DREES 2023, the default) and the share of self-employed GPs aged 60 or over
  (CartoSanté head counts 2019), the largest rank shift, and the EPCI with too few GPs;
* criterion 5: Spearman rank correlation and largest rank shift between the 2021 commune-median
  approximation used by default and INSEE's official EPCI medians (Filosofi 2019), and the
  median absolute difference in euros (different income years: a level gap is expected,
  the ranking is what the score uses).

Usage::

    ZONING_DATA_DIR=../shared/data python validation/validate_criteria.py [--region 76]
"""

from __future__ import annotations

import argparse

from zoning.config import load_config
from zoning.settings import resolve_data_dir
from zoning.territory import load_territory
from zoning.validation import RankComparison, validate


def _line(title: str, c: RankComparison, a: str, b: str) -> str:
    return (f"{title}: {c.n} EPCI, Spearman {c.spearman:.3f}, median rank shift "
            f"{c.median_shift:.0f}, largest rank shift {c.max_shift} ({c.max_shift_epci}: rank "
            f"{c.rank_a} by {a}, {c.rank_b} by {b}; rank 1 = lowest value)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="76")
    args = parser.parse_args()
    data_dir = resolve_data_dir(None)
    config = load_config()
    territory = load_territory(data_dir, args.region)
    v = validate(territory, config, data_dir)
    print(_line("criterion 2, APL 2023 share vs head counts 2019", v.age,
                "APL", "head counts"))
    print(f"  EPCI with fewer than {v.age_min_gps} GPs (head counts 2019): {v.age_few_gps}")
    print(_line(f"criterion 5, 2021 approximation vs official EPCI medians {v.filosofi_vintage}",
                v.filosofi, "approximation", "official"))
    print(f"  median absolute difference: {v.filosofi_median_abs_diff_eur:.0f} € "
          "(income 2021 vs 2019)")


if __name__ == "__main__":
    main()
