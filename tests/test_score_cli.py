"""``zoning score`` / ``zoning explain`` end to end on the real data, and their bad-input exits."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from zoning.cli import main
from zoning.config import DEFAULT_CONFIG
from zoning.exports import read_geopackage

pytestmark = pytest.mark.integration

TOULOUSE = "243100518"


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture(scope="module")
def scored(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("maps")
    code, stdout, stderr = _run("score", "--data-dir", str(data_dir), "--draws", "200",
                                "-o", str(out))
    assert code == 0, stderr
    return stdout, out


def test_score_occitanie_summary(scored: tuple[str, Path]) -> None:
    stdout, _ = scored
    m = re.search(r"Occitanie : (\d+) EPCI classés, (\d+) sélectionnés \(population ([\d ]+) "
                  r"hab\., [\d,]+ % de la population\) ; critères disponibles : (\d)/5", stdout)
    assert m, stdout[-2000:]
    assert (int(m.group(1)), int(m.group(2)), int(m.group(4))) == (161, 28, 5)
    pop = int(m.group(3).replace(" ", ""))
    assert 100_000 < pop < 6_124_653
    header = stdout.splitlines()[0]
    for col in ("Rang", "EPCI", "Dép.", "Population", "APL", "ALD (%)", "Composite",
                "Sélection", "Probabilité"):
        assert col in header
    assert "ALD (%) *" not in header  # ALD available (CartoSanté by bassin de vie)
    assert "Travel Mapping" in stdout


def test_readme_states_the_default_run(scored: tuple[str, Path]) -> None:
    stdout, _ = scored
    m = re.search(r"Occitanie : (\d+) EPCI classés, (\d+) sélectionnés \(population ([\d ]+) "
                  r"hab\., ([\d,]+) % de la population\) ; critères disponibles : (\d)/5 ; "
                  r"ALD : valeur pour (\d+) EPCI sur (\d+)(?: ;|\.)", stdout)
    assert m, stdout[-2000:]
    n, sel, pop, share, crit, n_ald, n2 = m.groups()
    readme = re.sub(r"\s+", " ", (Path(__file__).resolve().parent.parent / "README.md")
                    .read_text(encoding="utf-8"))
    pop_en = f"{int(pop.replace(' ', '')):,}"
    assert (f"{n} EPCI ranked" in readme and f"{sel} selected with {pop_en} inhabitants "
            f"({share.replace(',', '.')} % of the population" in readme), (pop_en, share)
    assert crit == "5" and "on all 5 criteria" in readme
    assert f"ALD has a value for {n_ald} of the {n2} EPCI" in readme
    assert int(n_ald) >= 150


def test_score_writes_ranked_table(scored: tuple[str, Path]) -> None:
    stdout, out = scored
    written = [Path(line.split(" : ", 1)[1]) for line in stdout.splitlines()
               if line.startswith("écrit : ")]
    assert written and all(p.exists() for p in written)  # files, and the fiches/ folder
    csv = next(p for p in written if p.name.endswith("epci.csv"))
    ranked = pd.read_csv(csv, dtype={"epci_siren": str}, comment="#")
    assert len(ranked) == 161 and ranked["epci_siren"].is_unique
    # every Occitanie commune lies inside the road network: the GeoTIFF is always written
    assert out / "temps_urgences_76.tif" in written and (out / "temps_urgences_76.tif").is_file()
    rank_col = next(c for c in ranked.columns if c.lower() in ("rang", "rank"))
    assert sorted(ranked[rank_col]) == list(range(1, 162))
    # run parameters: the selected population is the sum over the selected rows of the table
    from zoning.exports import read_geopackage

    params = read_geopackage(out / "zoning_76.gpkg").params
    sel = ranked["selected"].astype(str).str.lower() == "true"
    assert params["n_selected"] == 28 == int(sel.sum())
    assert params["population_selected"] == int(ranked.loc[sel, "population"].sum())


def test_score_writes_one_page_fiche_per_zone(scored: tuple[str, Path]) -> None:
    """``fiches/``: one A4 portrait page (HTML and PDF) per selected zone, in French."""
    import pypdf

    _, out = scored
    pdfs = sorted((out / "fiches").glob("*.pdf"))
    assert len(pdfs) == 28 == len(list((out / "fiches").glob("*.html")))
    ranked = pd.read_csv(out / "zoning_76_epci.csv", dtype={"epci_siren": str}, comment="#")
    first = ranked.sort_values("rank").iloc[0]
    for pdf in pdfs:
        reader = pypdf.PdfReader(pdf)
        assert len(reader.pages) == 1, pdf.name
        box = reader.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842), pdf.name
    pdf = next(p for p in pdfs if first["epci_siren"] in p.name)
    text = pdf_text(pdf)
    for needle in (str(first["epci_nom"]), "Rang 1 / 161", "zone prioritaire",
                   "Sources et précautions", "bassin de vie", "Site le plus proche"):
        assert needle in text, needle


def pdf_text(path: Path) -> str:
    import pypdf

    return " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(path).pages)


def test_reference_comparison(data_dir: Path, scored: tuple[str, Path], tmp_path: Path) -> None:
    stdout, out = scored
    csv = next(out.glob("*epci.csv"))
    ranked = pd.read_csv(csv, dtype={"epci_siren": str}, comment="#")
    rank_col = next(c for c in ranked.columns if c.lower() in ("rang", "rank"))
    first = str(ranked.loc[ranked[rank_col] == 1, "epci_siren"].iloc[0])
    ref = tmp_path / "ref.csv"
    ref.write_text(f"epci\nToulouse Métropole\n{first}\n", encoding="utf-8")
    code, so, se = _run("score", "--data-dir", str(data_dir), "--draws", "0", "--no-export",
                        "--reference", str(ref))
    assert code == 0, se
    assert "Comparaison avec la liste de référence" in so
    assert re.search(rf"\s\d+\s+{TOULOUSE} Toulouse Métropole", so)
    assert "Dans la référence seulement : " + TOULOUSE in so
    assert "2 EPCI) : 1 en commun, 27 sélectionnés par le modèle seulement, 1 dans" in so


@pytest.mark.parametrize("what", ["weights", "strict", "reference", "reference_empty",
                                  "reference_latin1", "ambiguous", "top", "top0", "output"])
def test_bad_input_exit_2(data_dir: Path, tmp_path: Path, what: str) -> None:
    dd = ["--data-dir", str(data_dir)]
    if what == "weights":
        text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace(
            'id = "apl"\nlabel = "Accès aux médecins généralistes (APL)"\nunit = '
            '"consultations/an/hab. standardisé"\nsource = "drees_apl"\n'
            'direction = "higher_is_better"\nweight = 0.2',
            'id = "apl"\nlabel = "Accès aux médecins généralistes (APL)"\nunit = '
            '"consultations/an/hab. standardisé"\nsource = "drees_apl"\n'
            'direction = "higher_is_better"\nweight = 0.5')
        assert sum(c["weight"] for c in tomllib.loads(text)["criteria"]) == pytest.approx(1.3)
        cfg = tmp_path / "criteria.toml"
        cfg.write_text(text, encoding="utf-8")
        code, _, err = _run("score", *dd, "--config", str(cfg), "--no-export")
        assert code == 2 and "sum to 1.3" in err and str(cfg) in err
    elif what == "strict":
        code, _, err = _run("score", *dd, "--strict", "--no-travel", "--no-export")
        assert code == 2 and "--strict" in err and "'urgences'" in err
    elif what == "reference":
        ref = tmp_path / "ref.csv"
        ref.write_text(f"epci_siren\n{TOULOUSE}\n999999999\n", encoding="utf-8")
        code, _, err = _run("score", *dd, "--no-travel", "--draws", "0", "--no-export",
                            "--reference", str(ref))
        assert code == 2 and "999999999" in err and str(ref) in err
    elif what in ("reference_empty", "reference_latin1"):
        ref = tmp_path / "ref.csv"
        ref.write_bytes(b"" if what == "reference_empty" else "nom\nCC Causses Aigoual Cévennes\n"
                        .encode("latin-1"))
        code, _, err = _run("score", *dd, "--no-travel", "--draws", "0", "--no-export",
                            "--reference", str(ref))
        assert code == 2 and str(ref) in err
        assert ("UTF-8" in err) if what == "reference_latin1" else ("reference CSV" in err)
    elif what == "output":
        blocker = tmp_path / "a_file"
        blocker.write_text("x", encoding="utf-8")
        code, out, err = _run("score", *dd, "--no-travel", "--draws", "0", "-o",
                              str(blocker / "maps"))
        assert code == 2 and "output folder not writable" in err and str(blocker) in err
        assert out == ""  # checked before the computation: no table printed
    elif what == "top0":
        code, _, err = _run("score", *dd, "--top", "0", "--no-travel", "--draws", "0",
                            "--no-export")
        assert code == 2 and "--top 0" in err and "between 1 and 161" in err
    elif what == "ambiguous":
        code, _, err = _run("explain", "Lauragais", *dd, "--no-travel", "--draws", "0")
        assert code == 2 and "matches" in err
        assert "CC des Terres du Lauragais" in err and "CC Piège Lauragais Malepère" in err
    else:
        code, _, err = _run("score", *dd, "--top", "500", "--no-travel", "--draws", "0",
                            "--no-export")
        assert code == 2 and "161 EPCI" in err and "--top 500" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def _fr(x: float, decimals: int) -> str:
    """French number as the terminal writes it: plain-space groups, decimal comma."""
    return f"{x:,.{decimals}f}".replace(",", " ").replace(".", ",")


_CRITERION_TAIL = re.compile(r"\s(?P<pct>\d+) (?P<contrib>\d+,\d{3}) \(poids (?P<w>[\d,]+) %\)"
                             r"\s+(?P<cov>[\d,]+) %$")


def test_explain_by_siren(data_dir: Path, scored: tuple[str, Path]) -> None:
    """``explain`` says the values of the score table: rank, composite, each criterion's raw
    value, percentile (recomputed here from the table's values), contribution (weight ×
    score) and the communes behind them (from the communes table)."""
    _, out_dir = scored
    code, out, err = _run("explain", TOULOUSE, "--data-dir", str(data_dir), "--draws", "100")
    assert code == 0, err
    assert out.startswith("Toulouse Métropole (SIREN 243100518, METRO, département 31, ")
    for label in ("Accès aux médecins généralistes", "Niveau de vie",
                  "Part des bénéficiaires d'ALD du bassin de vie (CartoSanté 2024)"):
        assert label in out
    # the score table at full precision (the CSV rounds values to what they mean, which
    # would tie EPCI and shift percentiles): the run's GeoPackage
    epci = read_geopackage(out_dir / "zoning_76.gpkg").epci
    row = epci.loc[TOULOUSE]
    assert f"{_fr(row['population'], 0)} hab.)" in out.splitlines()[0]
    m = re.search(r"^Rang (\d+) sur (\d+) ; score composite ([\d,]+) ; (non sélectionné|"
                  r"sélectionné) ;", out, re.M)
    assert m, out[:500]
    assert (int(m.group(1)), int(m.group(2))) == (int(row["rank"]), len(epci))
    assert m.group(3) == _fr(row["composite"], 3)
    assert (m.group(4) == "sélectionné") == bool(row["selected"])
    rows = [(line[:r.start()], r) for line in out.splitlines()
            if (r := _CRITERION_TAIL.search(line))]
    cfg = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))["criteria"]
    assert len(rows) == len(cfg) == 5
    contributions = 0.0
    for c, (left, r) in zip(cfg, rows, strict=True):
        cid = c["id"]
        assert c["label"].split(" (")[0] in left, cid
        decimals = {"apl": 2, "niveau_vie": 0}.get(cid, 1)
        assert re.search(rf"\s{re.escape(_fr(row[cid], decimals))} \D", left), (cid, left)
        oriented = epci[cid] if c["direction"] == "higher_is_worse" else -epci[cid]
        pct = (oriented.rank()[TOULOUSE] - 1) / (oriented.notna().sum() - 1) * 100
        assert r["pct"] == f"{pct:.0f}", cid
        assert r["w"] == _fr(100 * c["weight"], 1)
        assert r["contrib"] == _fr(c["weight"] * row[f"{cid}_score"], 3), cid
        contributions += c["weight"] * row[f"{cid}_score"]
    assert contributions == pytest.approx(row["composite"])
    # the communes behind the values (the communes table of the same run)
    com = pd.read_csv(out_dir / "zoning_76_communes.csv", dtype={"code_insee": str,
                      "epci_siren": str, "finess_urgence": str}, comment="#")
    com = com[com["epci_siren"] == TOULOUSE]
    far = com.sort_values(["t_urgence_min", "population"], ascending=[False, False]).head(3)
    assert "Communes les plus éloignées des urgences : " + "; ".join(
        f"{n} ({t:.0f} min)" for n, t in zip(far["nom"], far["t_urgence_min"], strict=True)) in out
    low = com.sort_values(["apl_mg", "population"], ascending=[True, False]).head(3)
    assert "Communes à l'APL la plus faible : " + "; ".join(
        f"{n} ({_fr(v, 2)})" for n, v in zip(low["nom"], low["apl_mg"], strict=True)) in out
    near = com.sort_values("t_urgence_min").iloc[0]
    assert (f"Urgence (SU/SMUR) la plus proche : {near['nom_urgence']} "
            f"({near['finess_urgence']}), {_fr(near['t_urgence_min'], 1)} min depuis "
            f"{near['nom']} ;") in out


def test_user_ald_csv_makes_five_criteria(data_dir: Path, tmp_path: Path) -> None:
    # tiny département-level file written here (values are test inputs, not data)
    deps = ["09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"]
    ald = tmp_path / "ald.csv"
    ald.write_text("dep,part_ald\n" + "".join(f"{d},{18 + i * 0.5}\n" for i, d in
                                              enumerate(deps)), encoding="utf-8")
    code, out, err = _run("score", "--data-dir", str(data_dir), "--ald", str(ald), "--strict",
                          "--draws", "0", "--no-export")
    assert code == 0, err
    assert "critères disponibles : 5/5" in out and "ALD (%) *" not in out.splitlines()[0]
    cap = next(line for line in out.splitlines() if "CC Causses Aigoual Cévennes" in line)
    assert "19,5" in cap  # French decimal comma; Gard (30) only: 18 + 3 * 0.5
    # the file is named (not as an official source) with what it gave
    note = next(line for line in out.splitlines() if "fichier fourni ald.csv" in line)
    assert "valeur pour 161 EPCI sur 161" in note and "13 code(s) département" in note
    assert "Assurance Maladie" not in out


def test_user_ald_checks_and_run_parameters(data_dir: Path, tmp_path: Path) -> None:
    import hashlib

    from zoning.exports import read_geopackage

    dd = ["--data-dir", str(data_dir), "--no-travel", "--draws", "0"]
    # EPCI level, percent, one unknown SIREN (test inputs)
    ald = tmp_path / "ald_epci.csv"
    ald.write_text(f"epci_siren;part_ald\n{TOULOUSE};17,5\n200034601;24,0\n999999999;20\n",
                   encoding="utf-8")
    out_dir = tmp_path / "out"
    code, out, err = _run("score", *dd, "--ald", str(ald), "-o", str(out_dir))
    assert code == 0, err
    assert "ALD : valeur pour 2 EPCI sur 161" in out
    assert "1 code(s) inconnu(s) du COG 2025, ignoré(s) : 999999999" in out
    r = read_geopackage(out_dir / "zoning_76.gpkg")
    rec = r.params["input_files"]["ald"]
    assert rec["name"] == "ald_epci.csv"
    assert rec["sha256"] == hashlib.sha256(ald.read_bytes()).hexdigest()
    meta = next(c for c in r.criteria if c.id == "ald")
    assert meta.source.startswith("fichier fourni par l'utilisateur : ald_epci.csv (sha256 ")
    assert "ald_epci.csv" in meta.label
    # fractions where percents are expected: one clear line, exit 2
    frac = tmp_path / "ald_frac.csv"
    frac.write_text(f"epci_siren,part_ald\n{TOULOUSE},0.175\n200034601,0.24\n",
                    encoding="utf-8")
    code, _, err = _run("score", *dd, "--no-export", "--ald", str(frac))
    assert code == 2 and "look like fractions" in err and str(frac) in err
    assert len(err.strip().splitlines()) == 1
    # nothing of the file in the territory: an error, not a silent 4/5 run
    none = tmp_path / "ald_none.csv"
    none.write_text("dep,part_ald\n29,18.0\n56,19.0\n", encoding="utf-8")
    code, _, err = _run("score", *dd, "--no-export", "--ald", str(none))
    assert code == 2 and "matches the scored territory" in err


def test_explain_commune_and_written_run(data_dir: Path, scored: tuple[str, Path]) -> None:
    stdout, out = scored
    code, text, err = _run("explain", "30350", "--data-dir", str(data_dir), "--run",
                           str(out / "zoning_76.gpkg"))
    assert code == 0, err
    lines = text.splitlines()
    assert lines[0].startswith("Commune Le Vigan (30350, département 30")
    # the commune's own values, read here from the source files
    apl = pd.read_csv(data_dir / "health" / "drees_apl_mg_2022_2023_communes.csv",
                      dtype={"code_commune": str})
    apl = apl[(apl["code_commune"] == "30350") & (apl["millesime"] == 2023)]["apl_mg"]
    filo = pd.read_csv(data_dir / "health" / "insee_filosofi_2021_cc_COM.csv", sep=";",
                       dtype=str).set_index("CODGEO")
    assert (f"Valeurs de la commune : APL {_fr(float(apl.iloc[0]), 2)} consultations/an/hab. "
            f"standardisé ; niveau de vie médian {_fr(float(filo.at['30350', 'MED21']), 0)} "
            "€/an par UC (Filosofi 2021) ;") in text
    bv = pd.read_csv(data_dir / "health" / "cartosante_indicateurs_bassins_de_vie_2024.csv",
                     sep=";", skiprows=2, dtype=str, encoding="utf-8-sig").set_index("Code")
    assert bv.at["30350", "Part des bénéf. en ALD dans la pop 2024"].strip() == \
        "N/A - secret statistique"
    assert ("part des bénéficiaires d'ALD de son bassin de vie (Le Vigan, CartoSanté 2024) "
            "sous secret statistique.") in text
    # its travel times and nearest sites: those of the run's communes table
    com = pd.read_csv(out / "zoning_76_communes.csv", dtype=str, comment="#").set_index(
        "code_insee").loc["30350"]
    t = {k: float(com[f"t_{k}_min"]) for k in ("su", "smur", "urgence")}
    assert (f"SU le plus proche {t['su']:.0f} min ({com['nom_su']}, FINESS {com['finess_su']}) "
            f"; SMUR le plus proche {t['smur']:.0f} min ({com['nom_smur']}, FINESS "
            f"{com['finess_smur']}) ; SU ou SMUR {t['urgence']:.0f} min ("
            f"{'au-delà' if t['urgence'] > 30 else 'en deçà'} du seuil de 30 min).") in text
    assert "CC du Pays Viganais (SIREN 243000270" in text
    # the written run's inputs: the same rank as in the score table
    row = next(line for line in stdout.splitlines() if "CC du Pays Viganais" in line)
    assert re.search(rf"^\s*{row.split()[0]}\s", row)
    assert f"Rang {row.split()[0]} sur 161" in text
    code, text2, err = _run("explain", "Le Vigan", "--data-dir", str(data_dir), "--run",
                            str(out / "zoning_76.gpkg"))
    assert code == 0, err
    assert text2 == text
    code, _, err = _run("explain", "30350", "--run", str(out / "zoning_76.gpkg"), "--top", "5")
    assert code == 2 and "--run takes every input" in err


def test_population_share_selection(data_dir: Path) -> None:
    code, out, err = _run("score", "--data-dir", str(data_dir), "--draws", "0", "--no-export",
                          "--population-share", "0.053")
    assert code == 0, err
    m = re.search(r"(\d+) sélectionnés \(population ([\d ]+) hab\., ([\d,]+) % de la population",
                  out)
    assert m, out[-1500:]
    share = float(m.group(3).replace(",", "."))
    # the worst EPCI while their cumulated population stays within 5.3 % of the region
    assert 0 < share <= 5.3 and int(m.group(1)) >= 1
    code, _, err = _run("score", "--data-dir", str(data_dir), "--no-export",
                        "--population-share", "0.053", "--top", "3")
    assert code == 2 and "exclusive" in err


def test_explain_without_sensitivity(data_dir: Path) -> None:
    code, out, err = _run("explain", TOULOUSE, "--data-dir", str(data_dir), "--draws", "0",
                          "--no-travel")
    assert code == 0, err
    second = out.splitlines()[1]
    assert "probabilité de sélection non évaluée ; robustesse non évaluée." in second
    assert "nan" not in out
    assert "Éloignement des urgences" in out and "donnée indisponible" in out


def test_long_names_are_marked_as_cut() -> None:
    from zoning.cli.score_cmd import _clip

    out = _clip(pd.Series(["x" * 50, "CC du Réquistanais", "y" * 42]), 42).tolist()
    assert out == ["x" * 41 + "…", "CC du Réquistanais", "y" * 42]


def test_geotiff_has_its_qgis_style_and_no_output_records_a_machine_path(
        scored: tuple[str, Path], data_dir: Path) -> None:
    """The .qml beside the GeoTIFF classes band 3 as 0–10–20–30–45–60+ min; no file written by
    score holds an absolute path of the machine (the output folder, the data directory)."""
    import xml.etree.ElementTree as ET
    import zipfile

    _, out = scored
    qml = out / "temps_urgences_76.qml"
    assert (out / "temps_urgences_76.tif").is_file() and qml.is_file()
    root = ET.fromstring(qml.read_text(encoding="utf-8").split("\n", 1)[1])
    renderer = root.find("pipe/rasterrenderer")
    assert renderer is not None and renderer.get("band") == "3"
    values = [i.get("value") for i in root.iter("item")]
    assert values == ["10", "20", "30", "45", "60", "inf"]
    roots = {str(out.resolve()), str(Path.cwd().resolve()), str(Path.home()),
             str(data_dir.resolve())}
    for f in out.rglob("*"):
        if not f.is_file() or f.name.startswith("."):
            continue
        if f.suffix == ".xlsx":
            with zipfile.ZipFile(f) as z:
                data = b"".join(z.read(n) for n in z.namelist())
        else:
            data = f.read_bytes()
        for r in roots:
            assert r.encode() not in data, (f.name, r)
