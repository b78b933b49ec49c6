"""Read and validate ``config/criteria.toml`` into typed objects.

Every problem is collected and reported at once in one :class:`ConfigError`
naming the file and the key path (``criteria[2].weight: ...``).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zoning.errors import ConfigError

CRITERION_IDS: tuple[str, ...] = ("apl", "age_mg", "ald", "urgences", "niveau_vie")
"""The five national criteria, in the order of the 2025 Pacte."""

NORMALISATIONS: tuple[str, ...] = ("percentile", "minmax", "zscore")

DEFAULT_CONFIG = Path(__file__).resolve().parent / "criteria.toml"
"""Default configuration shipped with the package (in the repository, ``zoning/criteria.toml``
is a symbolic link to the user-facing ``config/criteria.toml``: one file, also in the wheel)."""


MAX_DRAWS = 50_000
"""Upper bound of ``sensitivity.draws`` / ``--draws``."""

DRAWS_WHY = (
    "the sensitivity analysis keeps every draw's rank of every EPCI in memory (16 bytes per "
    "EPCI and draw: 50 000 draws of the ~1 250 EPCI of France take 1 GB, 10 000 000 would take "
    "200 GB), and beyond a few thousand draws the selection probabilities no longer change"
)
"""Why :data:`MAX_DRAWS` bounds the draws (said in the error message)."""

MAX_SEED = 2**63 - 1
"""Largest random seed (numpy accepts any non-negative integer; TOML integers are 64-bit)."""


class _Strict(BaseModel):
    # strict: "0.6" (a string) is not a weight, 76 (a number) is not a region code;
    # no inf / nan anywhere (TOML allows them, no setting of zoning means anything with them)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class RunConfig(_Strict):
    """``[run]``: region, selection rule, method, seed."""

    region: str = "76"
    priority_zones: int = Field(28, ge=1)
    priority_zones_by_region: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    selection: Literal["top", "population_share"] = "top"
    population_share: float = Field(0.053, gt=0, le=1)
    method: Literal["composite", "cumul"] = "composite"
    cumul_quantile: float = Field(0.2, gt=0, lt=1)
    seed: int = Field(2025, ge=0, le=MAX_SEED)

    def zones_for(self, region: str) -> int:
        """Number of priority zones for ``region`` (``priority_zones_by_region`` wins)."""
        return self.priority_zones_by_region.get(str(region), self.priority_zones)


class AplConfig(_Strict):
    millesime: Literal[2022, 2023] = 2023
    age_limit: Literal[60, 62, 65] = 60


class AgeConfig(_Strict):
    """``[age]``: which source measures criterion 2 (presence of young doctors)."""

    indicator: Literal["apl", "effectifs_2019"] = "apl"
    min_gps: int = Field(5, ge=1)


class TravelConfig(_Strict):
    threshold_min: float = Field(30.0, gt=0)
    indicator: Literal["share_beyond", "mean_time"] = "share_beyond"
    facilities: Literal["su", "smur", "su_or_smur"] = "su_or_smur"
    min_coverage: float = Field(0.5, gt=0, le=1)
    max_share_urban_model: float = Field(0.25, ge=0, le=1)


def _all_normalisations() -> list[Literal["percentile", "minmax", "zscore"]]:
    return ["percentile", "minmax", "zscore"]


class SensitivityConfig(_Strict):
    draws: int = Field(1000, ge=0, le=MAX_DRAWS)
    concentration: float = Field(50.0, gt=0)
    normalisations: list[Literal["percentile", "minmax", "zscore"]] = Field(
        default_factory=_all_normalisations, min_length=1
    )
    robust_threshold: float = Field(0.9, gt=0, le=1)


class LineClassModel(_Strict):
    """``[routing.line_model]`` entry: circuity of a line-layer road class and its shape terms."""

    circuity: float = Field(1.0, ge=1.0, allow_inf_nan=False)
    winding: float = Field(0.0, allow_inf_nan=False)
    spacing: float = Field(0.0, allow_inf_nan=False)
    max: float = Field(3.0, ge=1.0, allow_inf_nan=False)


class RoutingConfig(_Strict):
    circuity: float = Field(1.15, ge=1.0)
    line_model: dict[str, LineClassModel] = Field(default_factory=dict)
    access_speed_kmh: float = Field(30.0, gt=0)
    access_circuity: float = Field(1.3, ge=1.0)
    max_snap_km: float = Field(5.0, gt=0)
    snap_candidates: int = Field(5, ge=1, le=32)
    min_component_nodes: int = Field(1000, ge=2)
    far_km: float = Field(2.0, gt=0)
    urban_density_min: float = Field(1500.0, gt=0)
    urban_speed_kmh: float = Field(20.0, gt=0)
    urban_circuity: float = Field(1.3, ge=1.0)
    class_speeds_kmh: dict[str, float] = Field(default_factory=dict)
    osm_speeds_kmh: dict[str, float] = Field(default_factory=dict)
    osm_engine: Literal["zoning", "osmnx"] = "zoning"
    osm_simplify: bool = False

    def line_model_terms(self) -> dict[str, dict[str, float]]:
        """``line_model`` as plain mappings (the line-layer builder's ``line_model``)."""
        return {c: m.model_dump() for c, m in self.line_model.items()}


class Criterion(_Strict):
    id: Literal["apl", "age_mg", "ald", "urgences", "niveau_vie"]
    label: str = Field(min_length=1)
    unit: str
    source: str
    direction: Literal["higher_is_worse", "higher_is_better"]
    weight: float = Field(ge=0)
    normalisation: Literal["percentile", "minmax", "zscore"] = "percentile"


class Config(_Strict):
    run: RunConfig = Field(default_factory=lambda: RunConfig.model_validate({}))
    apl: AplConfig = Field(default_factory=lambda: AplConfig.model_validate({}))
    age: AgeConfig = Field(default_factory=lambda: AgeConfig.model_validate({}))
    travel: TravelConfig = Field(default_factory=lambda: TravelConfig.model_validate({}))
    sensitivity: SensitivityConfig = Field(
        default_factory=lambda: SensitivityConfig.model_validate({})
    )
    routing: RoutingConfig = Field(default_factory=lambda: RoutingConfig.model_validate({}))
    criteria: list[Criterion] = Field(min_length=1)

    source_path: str = "<memory>"

    def criterion(self, criterion_id: str) -> Criterion:
        """Return the criterion with this id (``KeyError`` when absent)."""
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)

    @property
    def weights(self) -> dict[str, float]:
        """Configured weights by criterion id."""
        return {c.id: c.weight for c in self.criteria}


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<root>"


def _cross_checks(raw: dict[str, Any]) -> list[str]:
    """Checks that span several keys, run on the raw TOML so they report with the rest."""
    problems: list[str] = []
    crits = raw.get("criteria")
    if not isinstance(crits, list):
        return problems
    seen: set[str] = set()
    total = 0.0
    weights_ok = True
    for i, c in enumerate(crits):
        if not isinstance(c, dict):
            continue
        cid = c.get("id")
        if isinstance(cid, str):
            if cid in seen:
                problems.append(f"criteria[{i}].id: criterion {cid!r} is defined twice")
            seen.add(cid)
        w = c.get("weight")
        if isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0:
            total += float(w)
        else:
            weights_ok = False
    if weights_ok and crits and not math.isclose(total, 1.0, abs_tol=1e-6):
        problems.append(
            f"criteria[*].weight: weights sum to {total:.6g}, they must sum to 1 "
            "(fix the weights so that their total is 1)"
        )
    age = raw.get("age")
    apl = raw.get("apl")
    if (isinstance(age, dict) and age.get("indicator") == "effectifs_2019"
            and isinstance(apl, dict) and apl.get("age_limit", 60) != 60):
        problems.append(
            f"apl.age_limit: {apl.get('age_limit')!r} with age.indicator = 'effectifs_2019': the "
            "2019 head counts only give GPs aged 60 or over (set apl.age_limit = 60, or "
            "age.indicator = 'apl')"
        )
    return problems


def parse_config(raw: dict[str, Any], source: str = "<memory>") -> Config:
    """Validate a parsed TOML mapping.

    Parameters
    ----------
    raw
        The mapping read from TOML.
    source
        File name used in messages.

    Returns
    -------
    Config
        The validated configuration.

    Raises
    ------
    ConfigError
        With every problem found.
    """
    problems: list[str] = []
    cfg: Config | None = None
    try:
        cfg = Config.model_validate({**raw, "source_path": source})
    except ValidationError as exc:
        for err in exc.errors():
            msg = err["msg"]
            kind, got = err["type"], err.get("input")
            if kind == "extra_forbidden":
                msg = "unknown key (remove it or check its spelling)"
            elif kind == "literal_error":
                msg = f"{msg}, got {got!r}"
            elif kind in ("float_type", "int_type", "bool_type") and isinstance(got, str):
                msg = f"{msg}, got the text {got!r} (write the value without quotes)"
            elif kind == "string_type" and isinstance(got, (int, float)):
                msg = f'{msg}, got the number {got!r} (write it in quotes: "{got}")'
            elif kind == "finite_number":
                msg = f"{msg}, got {got!r} (inf and nan mean nothing here: write a number)"
            elif kind == "less_than_equal" and err["loc"][-1] == "draws":
                msg = f"{msg}, got {got!r}: at most {MAX_DRAWS} because {DRAWS_WHY}"
            elif kind in ("float_type", "int_type", "string_type", "bool_type", "greater_than",
                          "greater_than_equal", "less_than", "less_than_equal"):
                msg = f"{msg}, got {got!r}"
            problems.append(f"{_loc(tuple(err['loc']))}: {msg}")
    if "source_path" in raw:
        problems.append("source_path: unknown key (remove it)")
    problems += _cross_checks(raw)
    if problems or cfg is None:
        raise ConfigError(source, problems)
    return cfg


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a criteria configuration file.

    Parameters
    ----------
    path
        The TOML file; ``None`` means ``config/criteria.toml`` of the current folder when it
        exists, else the packaged default (:data:`DEFAULT_CONFIG`).

    Returns
    -------
    Config
        The validated configuration.

    Raises
    ------
    ConfigError
        When the file is missing, is not valid TOML, or fails validation.
    """
    if path is None:
        local = Path("config") / "criteria.toml"
        path = local if local.is_file() else DEFAULT_CONFIG
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, ["<file>: not found (give an existing file to --config)"])
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"<toml>: malformed TOML: {exc} (fix the syntax)"]) from None
    except UnicodeDecodeError:
        raise ConfigError(path, ["<file>: not UTF-8 text (save it as UTF-8)"]) from None
    return parse_config(raw, source=str(path))


# --------------------------------------------------------------------------- writing

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def config_to_toml(config: Config, header: str = "") -> str:
    """The configuration as TOML text that :func:`load_config` reads back to the same values.

    Parameters
    ----------
    config
        A validated configuration.
    header
        Comment lines written first (each prefixed with ``# ``).

    Returns
    -------
    str
        TOML text: one table per section (nested mappings as sub-tables), the criteria as
        an array of tables.
    """
    data = config.model_dump(mode="json", exclude={"source_path"})
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for section, body in data.items():
        if section == "criteria":
            continue
        lines += ["", f"[{_toml_key(section)}]"]
        subtables = {k: v for k, v in body.items() if isinstance(v, dict)
                     and k not in ("priority_zones_by_region",)}
        for k, v in body.items():
            if k not in subtables:
                lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        for k, v in subtables.items():
            lines += ["", f"[{_toml_key(section)}.{_toml_key(k)}]"]
            lines += [f"{_toml_key(str(kk))} = {_toml_value(vv)}" for kk, vv in v.items()]
    for crit in data["criteria"]:
        lines += ["", "[[criteria]]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in crit.items()]
    return "\n".join(lines).lstrip("\n") + "\n"
