"""The README's calibration figures, recomputed from the shared data by the calibration script."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from zoning.config import load_config

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "validation" / "calibrate_line_model.py"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("calibrate_line_model", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.integration
def test_readme_states_the_calibration_figures(data_dir: Path) -> None:
    script = _script()
    config = load_config(ROOT / "config" / "criteria.toml")
    cal = script.calibrate(data_dir, config, region=True)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = script.readme_block(cal)
    assert block in readme, "README calibration table differs from the script:\n" + block
    # the headline share is the fitted model's; the flat model's is given beside it
    assert f"{cal.shares['après'] * 100:.1f} % of the Occitanie population lives more" in readme
    assert f"({cal.shares['avant'] * 100:.1f} % with the previous flat" in readme
    assert (f"as a range: {cal.shares['avant'] * 100:.1f} % (flat) to "
            f"{cal.shares['après'] * 100:.1f} %") in readme
    # the fit itself: the configured circuities are the fitted ones (config comment, README)
    fit = cal.fit["estimate"]
    terms = config.routing.line_model_terms()
    for cls in ("national", "departmental_or_regional"):
        assert terms[cls]["circuity"] == pytest.approx(fit[f"circuity[{cls}]"], abs=5e-4)
        assert terms[cls]["spacing"] == pytest.approx(fit["spacing"], abs=5e-4)
    assert f"{len(cal.edges)} edges" in SCRIPT.read_text(encoding="utf-8")
    assert f"Between {cal.n_places} places lying on both" in readme
    assert f"({cal.n_pairs:,} pairs" in readme
    e = cal.edges.groupby("road_class")[["osm_m", "drawn_m"]].sum()
    longer = (e["osm_m"] / e["drawn_m"] - 1) * 100
    d, n = longer["departmental_or_regional"], longer["national"]
    assert (f"roads (class\n`departmental_or_regional`) are {d:.0f} % longer than drawn and "
            f"the CG roads (`national`) {n:.0f} %") in readme
