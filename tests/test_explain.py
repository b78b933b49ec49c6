"""The library side of ``zoning explain`` on tiny frames: which place a query names (one
message for several communes) and the inputs of a written run."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from zoning import pipeline
from zoning.config import load_config
from zoning.errors import AmbiguousNameError, DataFileNotFoundError, DataFormatError


def _result() -> SimpleNamespace:
    communes = pd.DataFrame(
        {"nom": ["Le Vigan", "Le Vigan", "Saint-Jean", "Saint-Jean-du-Gard", "Ganges"],
         "dep": ["30", "46", "31", "30", "34"]},
        index=pd.Index(["30350", "46335", "31488", "30259", "34111"], name="code_insee"))
    epci = pd.DataFrame({"epci_nom": ["CC du Pays Viganais", "CC des Cévennes Gangeoises"]},
                        index=pd.Index(["243000270", "243400355"], name="epci_siren"))
    return SimpleNamespace(communes=communes, epci=epci)


def test_resolve_place() -> None:
    r = _result()
    assert pipeline.resolve_place(r, "30350") == ("commune", "30350")
    assert pipeline.resolve_place(r, "ganges") == ("commune", "34111")
    assert pipeline.resolve_place(r, "Le Vigan (46)") == ("commune", "46335")
    assert pipeline.resolve_place(r, "243000270") == ("epci", "243000270")
    assert pipeline.resolve_place(r, "Pays Viganais") == ("epci", "243000270")


@pytest.mark.parametrize(("query", "message"), [
    ("le vigan", "'le vigan' names 2 communes: 30350 Le Vigan (30); 46335 Le Vigan (46) "
     "(give the INSEE code, or the name with its département, e.g. 'Le Vigan (30)')"),
    ("jean", "'jean' matches 2 communes: 30259 Saint-Jean-du-Gard (30); 31488 "
     "Saint-Jean (31) (give the INSEE code or a longer name)"),
])
def test_several_communes_one_message(query: str, message: str) -> None:
    with pytest.raises(AmbiguousNameError) as exc:
        pipeline.resolve_place(_result(), query)
    assert str(exc.value) == message
    assert len(exc.value.candidates) == 2


def test_inputs_of_a_written_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:

    ald = tmp_path / "ald.csv"
    ald.write_text("dep,part_ald\n31,18.5\n", encoding="utf-8")
    digest = hashlib.sha256(ald.read_bytes()).hexdigest()
    config = load_config()
    params = {"config": config.model_dump(mode="json", exclude={"source_path"}), "region": "76",
              "top": 12, "strict": True, "draws": 7, "seed": 3, "travel": False,
              "data_dir": str(tmp_path), "selection": "top",
              "input_files": {"ald": {"path": str(ald), "name": "ald.csv", "sha256": digest}}}
    import zoning.exports

    monkeypatch.setattr(zoning.exports, "read_geopackage",
                        lambda path: SimpleNamespace(params=params))
    cfg, ddir, kw = pipeline.inputs_of_run(tmp_path / "run.gpkg", None)
    assert cfg.run.region == config.run.region and ddir == tmp_path
    assert kw == {"region": "76", "top": 12, "strict": True, "reference": None, "draws": 7,
                  "seed": 3, "ald_path": ald, "travel": False, "filosofi_epci_path": None}
    ald.write_text("dep,part_ald\n31,19.5\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"ald\.csv \(ald\), which is changed since"):
        pipeline.inputs_of_run(tmp_path / "run.gpkg", None)
    ald.unlink()
    with pytest.raises(DataFileNotFoundError, match="which is gone"):
        pipeline.inputs_of_run(tmp_path / "run.gpkg", None)
