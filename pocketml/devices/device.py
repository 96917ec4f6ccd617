"""The Device type and the catalogue loader (``catalogue.toml`` plus any user file).

A board is data, not code: its figures live in a TOML file with the source of each. Users add
or override boards with a file of the same schema (``--devices my_boards.toml``); a board in the
user's file replaces a built-in one with the same id.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path

import tomllib

from pocketml.errors import PocketMLError

FPUS = ("none", "single", "double")
SOURCED = ("clock_mhz", "sram_bytes", "flash_bytes", "active_mw", "sleep_mw")
OPTIONAL = ("flash_wait_states",)  # a board may leave these out


@dataclass(frozen=True)
class Device:
    """A real board: the budgets a model must fit and the figures cost estimates start from."""

    id: str
    name: str
    mcu: str
    core: str
    clock_mhz: float
    sram_bytes: int
    flash_bytes: int
    fpu: str
    simd: str
    active_mw: float
    sleep_mw: float
    supply_v: float
    radios: tuple[str, ...]
    datasheet: str
    notes: str
    sources: dict[str, str]
    flash_wait_states: int | None = None  # at clock_mhz (optional): the cycle estimate's flash refills

    @classmethod
    def from_dict(cls, raw: dict, origin: str) -> Device:
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in raw and n not in OPTIONAL]
        where = f"board '{raw.get('id', '?')}' in {origin}"
        if missing:
            raise PocketMLError(f"{where} is missing {', '.join(missing)}",
                                f"give every board all of: {', '.join(names)}")
        unknown = sorted(set(raw) - set(names))
        if unknown:
            raise PocketMLError(f"{where} has unknown field(s) {', '.join(unknown)}",
                                f"allowed fields: {', '.join(names)}")
        if not re.fullmatch(r"[a-z0-9_-]+", str(raw["id"])):
            raise PocketMLError(f"{where}: id must be lower case letters, digits, '_' or '-'",
                                "rename the board id, e.g. 'my_board'")
        for key in ("clock_mhz", "sram_bytes", "flash_bytes", "active_mw", "supply_v"):
            if not isinstance(raw[key], (int, float)) or raw[key] <= 0:
                raise PocketMLError(f"{where}: {key} must be a positive number, got {raw[key]!r}",
                                    "use the datasheet figure in the units of the field name")
        if not isinstance(raw["sleep_mw"], (int, float)) or raw["sleep_mw"] < 0:
            raise PocketMLError(f"{where}: sleep_mw must be >= 0", "use the datasheet sleep power in mW")
        if raw["fpu"] not in FPUS:
            raise PocketMLError(f"{where}: fpu is {raw['fpu']!r}", f"use one of {', '.join(FPUS)}")
        wait_states = raw.get("flash_wait_states")
        if wait_states is not None and (not isinstance(wait_states, int) or wait_states < 0
                                        or not raw["sources"].get("flash_wait_states")):
            raise PocketMLError(f"{where}: flash_wait_states must be an integer >= 0 with a source",
                                "give the datasheet's wait states at clock_mhz and name it in [device.sources]")
        lacking = [k for k in SOURCED if not raw["sources"].get(k)]
        if lacking:
            raise PocketMLError(f"{where} gives no source for {', '.join(lacking)}",
                                "name the datasheet (title, section) each figure comes from in [device.sources]")
        return cls(**{**raw, "radios": tuple(raw["radios"]), "sources": dict(raw["sources"]),
                      "sram_bytes": int(raw["sram_bytes"]), "flash_bytes": int(raw["flash_bytes"]),
                      "clock_mhz": float(raw["clock_mhz"])})

    def to_dict(self) -> dict:
        d = asdict(self)
        d["radios"] = list(self.radios)
        return d


def _parse(text: bytes, origin: str) -> list[Device]:
    try:
        doc = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PocketMLError(f"{origin} is not valid TOML: {exc}",
                            "fix the file; see pocketml/devices/catalogue.toml for the schema") from exc
    boards = doc.get("device")
    if not isinstance(boards, list) or not boards:
        raise PocketMLError(f"{origin} defines no [[device]] tables",
                            "add one [[device]] table per board, as in pocketml/devices/catalogue.toml")
    return [Device.from_dict(b, origin) for b in boards]


def load_catalogue(extra: str | Path | None = None) -> dict[str, Device]:
    """The built-in boards, plus (and overridden by) those in ``extra``; keyed by id."""
    builtin = resources.files("pocketml.devices") / "catalogue.toml"
    devices = {d.id: d for d in _parse(builtin.read_bytes(), "the built-in catalogue")}
    if extra is not None:
        path = Path(extra)
        if not path.is_file():
            raise PocketMLError(f"device file {path} does not exist", "pass the path of a TOML file")
        devices.update({d.id: d for d in _parse(path.read_bytes(), str(path))})
    return devices


def find_device(device_id: str, catalogue: dict[str, Device] | None = None) -> Device:
    """Look a board up by id; an unknown id names the closest ones."""
    catalogue = catalogue if catalogue is not None else load_catalogue()
    if device_id in catalogue:
        return catalogue[device_id]
    close = difflib.get_close_matches(device_id.lower(), list(catalogue), n=3, cutoff=0.4)
    by_name = [d.id for d in catalogue.values() if device_id.lower() in (d.name + d.mcu).lower()]
    suggest = list(dict.fromkeys(close + by_name))[:3]
    hint = f"did you mean {', '.join(suggest)}? " if suggest else ""
    raise PocketMLError(f"unknown device '{device_id}'",
                        f"{hint}run `pocketml devices` for the list, or add the board with --devices FILE")
