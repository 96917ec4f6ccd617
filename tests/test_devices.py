"""The device catalogue, user board files, lookup errors and the cost model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pocketml.devices import estimate_cost, find_device, load_catalogue
from pocketml.devices.device import OPTIONAL, SOURCED, Device
from pocketml.devices.footprint import check_fit
from pocketml.errors import PocketMLError

REQUIRED = ["uno", "nano33ble", "stm32f746disco", "nucleo_l476rg", "nucleo_l4r5zi", "pico", "esp32s3",
            "sparkfun_edge", "portenta_h7", "nrf5340dk", "rpi4", "pixel7"]


def test_catalogue_has_the_required_real_boards():
    cat = load_catalogue()
    assert len(cat) >= 12
    assert set(REQUIRED) <= set(cat)
    uno = cat["uno"]
    assert (uno.mcu, uno.sram_bytes, uno.flash_bytes) == ("ATmega328P", 2048, 32768)
    assert cat["nano33ble"].mcu == "nRF52840"


def test_every_board_has_every_field_and_a_source_for_each_figure():
    for d in load_catalogue().values():
        for key, value in d.to_dict().items():
            if key not in ("radios", *OPTIONAL):
                assert value not in (None, ""), (d.id, key)
        assert all(d.sources.get(k) for k in SOURCED), d.id
        assert d.flash_wait_states is None or d.sources.get("flash_wait_states"), d.id
        assert d.sleep_mw < d.active_mw, d.id
    assert load_catalogue()["nucleo_l4r5zi"].flash_wait_states == 5  # the cycle estimate's upper bound uses it


def test_flash_wait_states_are_optional_but_checked(tmp_path):
    path = tmp_path / "boards.toml"
    path.write_text(USER_BOARD.replace('mcu = "STM32G474"', 'mcu = "STM32G474"\nflash_wait_states = -1'))
    with pytest.raises(PocketMLError, match="flash_wait_states"):
        load_catalogue(path)
    assert load_catalogue()["uno"].flash_wait_states is None


USER_BOARD = """
[[device]]
id = "my_board"
name = "My Board"
mcu = "STM32G474"
core = "cortex-m4f"
clock_mhz = 170
sram_bytes = 131072
flash_bytes = 524288
fpu = "single"
simd = "armv7e-m-dsp"
active_mw = 60.0
sleep_mw = 0.01
supply_v = 3.3
radios = []
datasheet = "https://example.invalid/ds"
notes = "test board"
[device.sources]
clock_mhz = "DS"
sram_bytes = "DS"
flash_bytes = "DS"
active_mw = "DS"
sleep_mw = "DS"
"""


def test_user_file_adds_a_board(tmp_path):
    path = tmp_path / "boards.toml"
    path.write_text(USER_BOARD)
    cat = load_catalogue(path)
    assert isinstance(cat["my_board"], Device)
    assert cat["my_board"].clock_mhz == 170.0
    assert "uno" in cat


@pytest.mark.parametrize("edit,needle", [
    (lambda s: s.replace('clock_mhz = 170\n', ''), "missing clock_mhz"),
    (lambda s: s.replace('fpu = "single"', 'fpu = "quad"'), "fpu"),
    (lambda s: s.replace('sram_bytes = 131072', 'sram_bytes = -1'), "sram_bytes"),
    (lambda s: s.replace('sleep_mw = "DS"', ''), "no source for sleep_mw"),
    (lambda s: s.replace('[[device]]', '[[device]\n'), "not valid TOML"),
    (lambda s: s.replace('id = "my_board"', 'id = "my_board"\ncolour = "red"'), "unknown field"),
])
def test_bad_user_files_are_named(tmp_path, edit, needle):
    path = tmp_path / "boards.toml"
    path.write_text(edit(USER_BOARD))
    with pytest.raises(PocketMLError, match=needle):
        load_catalogue(path)


def test_unknown_device_suggests_the_closest_ids():
    with pytest.raises(PocketMLError) as info:
        find_device("nano33")
    assert "nano33ble" in str(info.value)
    with pytest.raises(PocketMLError, match="portenta_h7"):
        find_device("portenta")


def test_fit_names_the_budget_and_the_excess():
    uno = find_device("uno")
    fit = check_fit(uno, ram_bytes=3000, flash_bytes=1000)
    assert not fit.fits and "RAM" in fit.reason and "952" in fit.reason and "flash" not in fit.reason.split(";")[0][:10]
    fit = check_fit(uno, ram_bytes=100, flash_bytes=40000)
    assert not fit.fits and "flash" in fit.reason and "7,232" in fit.reason
    assert check_fit(uno, 100, 100).fits


def test_cost_model_is_labelled_an_estimate_and_scales_with_clock():
    m4 = find_device("nano33ble")
    est = estimate_cost(1_000_000, 1000, m4)
    assert est.to_dict()["estimate"] is True and "estimate" in est.method
    assert est.cycles == 1_000_000 * 6 + 1000 * 30
    assert est.latency_ms == pytest.approx(94.21875)  # 6,030,000 cycles at 64 MHz
    assert est.energy_uj == pytest.approx(932.765625)  # 94.22 ms at 9.9 mW (the catalogue's active power)
    faster = estimate_cost(1_000_000, 1000, find_device("portenta_h7"))
    assert faster.latency_ms < est.latency_ms


def test_cli_devices_json_lists_every_board():
    proc = subprocess.run([sys.executable, "-m", "pocketml.cli", "devices", "--json"],
                          capture_output=True, text=True, check=True)
    boards = json.loads(proc.stdout)
    assert len(boards) >= 12
    assert all(all(v not in (None, "") for k, v in b.items() if k not in ("radios", *OPTIONAL)) for b in boards)
