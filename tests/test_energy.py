"""Energy budget arithmetic checked against hand-worked examples (units in every name), plus CLI and pipeline."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from pocketml import PocketMLError
from pocketml.devices import find_device
from pocketml.energy import (
    BATTERIES,
    HARVESTERS,
    RADIOS,
    cascade_curve,
    choose_threshold,
    energy_budget,
    find_battery,
    find_radio,
    lora_time_on_air,
    parse_rate,
    softmax_confidence,
)

uJ, mJ = 1e-6, 1e-3


def test_ble_message_energy_by_hand():
    ble = RADIOS["ble"]
    # payload: 3.0 V x 6.40 mA x 8 us per byte = 0.1536 uJ/B
    assert ble.per_byte_j == pytest.approx(0.1536 * uJ)
    # per packet: 17 header bytes at TX (17 x 8 us x 19.2 mW = 2.6112 uJ) + T_IFS and the empty ACK at RX
    # ((150 + 80) us x 6.26 mA x 3.0 V = 4.3194 uJ) + 40 us ramp-up at TX (0.768 uJ) = 7.6986 uJ
    assert ble.per_packet_j == pytest.approx(7.6986 * uJ)
    assert ble.message_joules(10) == pytest.approx((7.6986 + 10 * 0.1536) * uJ)  # one 20-byte packet
    assert ble.message_joules(64) == pytest.approx((4 * 7.6986 + 64 * 0.1536) * uJ)  # ceil(64 / 20) = 4 packets


def test_lora_time_on_air_by_hand():
    # SF7/125 kHz, 23 B (10 B + 13 B LoRaWAN): T_sym = 1.024 ms; preamble 12.25 symbols = 12.544 ms;
    # payload 8 + ceil((184 - 28 + 28 + 16) / 28) x 5 = 48 symbols = 49.152 ms  => 61.696 ms
    assert lora_time_on_air(23, 7) == pytest.approx(61.696e-3)
    # SF12 (low data rate optimisation on): T_sym = 32.768 ms; 12.25 + 8 + ceil(180 / 40) x 5 = 45.25 symbols
    assert lora_time_on_air(23, 12) == pytest.approx(1482.752e-3)
    lora = RADIOS["lora"]
    rx_windows_j = 2 * 5 * 1.024e-3 * 3.3 * 11e-3  # two 5-symbol receive windows at 11 mA, 3.3 V
    assert lora.message_joules(10) == pytest.approx(rx_windows_j + 3.3 * 29e-3 * 61.696e-3)


def test_batteries_and_harvesters_by_hand():
    assert BATTERIES["cr2032"].joules == pytest.approx(0.235 * 3.0 * 3600)  # 2538 J = 0.705 Wh
    assert BATTERIES["2xaa"].joules == pytest.approx(2.850 * 3.0 * 3600)  # 30 780 J
    assert HARVESTERS["solar-outdoor"].joules_per_day == pytest.approx(5e-4 * 3.0 * 3.6e6 * 0.15 * 0.8)  # 648 J
    # Friis at 915 MHz, 3 m, 3 W EIRP: (0.32764 / 37.699)^2 x 3 W = 226.6 uW; x 50% x 86 400 s = 9.79 J
    assert HARVESTERS["rf-3m"].joules_per_day == pytest.approx(9.79, rel=2e-3)


def test_budget_by_hand():
    nano = find_device("nano33ble")  # 64 MHz, 9.9 mW active, 9.5 uW sleep
    b = energy_budget(nano, 6.4e6, "test", "1/min", radio="ble", battery="cr2032", result_bytes=10,
                      raw_bytes=64, update_bytes=10_000, macs=1_000_000)
    assert b.seconds_per_inference == pytest.approx(0.1)  # 6.4 M cycles / 64 MHz
    assert b.joules_per_inference == pytest.approx(0.99 * mJ)  # 9.9 mW x 0.1 s
    assert b.joules_per_message == pytest.approx(9.2346 * uJ)
    ble_idle_w = (1.536 + 4.3194 + 0.768) * uJ / 1.0  # one empty connection event per second
    avg_w = (0.99 * mJ + 9.2346 * uJ) / 60 + 9.5e-6 * (1 - 0.1 / 60) + ble_idle_w
    assert b.average_watts == pytest.approx(avg_w)  # 32.76 uW
    assert b.lifetime_days == pytest.approx(2538 / avg_w / 86_400)  # 896.6 days
    assert b.lifetime_days == pytest.approx(896.6, abs=0.1)
    assert b.daily_joules == pytest.approx(avg_w * 86_400)
    assert b.sanity["nanojoules_per_mac"] == pytest.approx(0.99)  # 0.99 mJ / 1 M MACs = 0.99 nJ/MAC
    assert b.sanity["plausible"] is True  # 0.38x the MLPerf reference, inside the 10x band
    assert b.sanity["reference_nanojoules_per_mac"] == pytest.approx(7e-3 / 2.7e6 * 1e9)
    lora = next(r for r in b.send_vs_compute if r["radio"] == "lora")
    assert lora["send_raw_j"] == pytest.approx(RADIOS["lora"].message_joules(64))
    assert lora["compute_and_send_result_j"] == pytest.approx(0.99 * mJ + RADIOS["lora"].message_joules(10))
    d = b.to_dict()
    for key in ("joules_per_inference", "sleep_watts", "battery_joules", "lifetime_days"):
        assert isinstance(d[key], float)
    assert d["estimate"] is True and d["battery_wh"] == pytest.approx(0.705)


def test_2xaa_outlasts_a_coin_cell_and_lora_warns_on_a_coin_cell():
    nano = find_device("nano33ble")
    coin = energy_budget(nano, 6.4e6, "t", "1/h", radio="lora", battery="cr2032")
    aa = energy_budget(nano, 6.4e6, "t", "1/h", radio="lora", battery="2xaa")
    assert aa.lifetime_days / coin.lifetime_days == pytest.approx(30_780 / 2538)
    assert any("pulse limit" in w for w in coin.warnings) and not aa.warnings


def test_rates():
    assert parse_rate("1/min") == pytest.approx(1 / 60)
    assert parse_rate("10/h") == pytest.approx(10 / 3600)
    assert parse_rate("2/day") == pytest.approx(2 / 86_400)
    assert parse_rate("0.5/s") == pytest.approx(0.5)
    assert parse_rate("3/hours") == pytest.approx(3 / 3600)
    for bad in ("fast", "1/fortnight", "0/min", "-1/s"):
        with pytest.raises(PocketMLError):
            parse_rate(bad)


def test_bad_inputs_are_named():
    nano = find_device("nano33ble")
    with pytest.raises(PocketMLError, match="unknown radio 'zigbee'"):
        find_radio("zigbee")
    with pytest.raises(PocketMLError, match="unknown battery 'cr2025'") as err:
        find_battery("cr2025")
    assert "cr2032" in err.value.fix
    with pytest.raises(PocketMLError, match="faster than") as err:  # 0.1 s inference, 20 per second asked
        energy_budget(nano, 6.4e6, "t", "20/s")
    assert "below 9.999 per second" in err.value.fix  # 1 / (0.1 s + 8 us: BLE airtime of the 1-byte result)


def test_cascade_by_hand():
    conf = np.array([0.9, 0.4, 0.8, 0.3])
    local = np.array([True, False, True, False])
    remote = np.array([True, True, False, True])
    points = cascade_curve(conf, local, remote, 1 * mJ, 10 * mJ, thresholds=[0.0, 0.5, 0.85, 1.0])
    by_t = {p.threshold: p for p in points}
    assert (by_t[0.0].accuracy, by_t[0.0].joules_per_inference) == (0.5, pytest.approx(1 * mJ))  # all local
    assert by_t[0.5].offloaded_fraction == 0.5 and by_t[0.5].accuracy == 1.0  # samples 2 and 4 offloaded
    assert by_t[0.5].joules_per_inference == pytest.approx(1 * mJ + 0.5 * 10 * mJ)  # 6 mJ
    assert by_t[0.85].accuracy == 0.75  # sample 3 (local right, remote wrong) now offloaded too
    off = points[-1]
    assert off.label == "all offloaded" and off.accuracy == 0.75 and off.joules_per_inference == pytest.approx(10 * mJ)
    best = choose_threshold(points, 0.9)
    assert best.threshold == 0.5  # beats all-local on accuracy and all-offloaded on energy and accuracy
    assert choose_threshold(points, 1.01) is None
    assert softmax_confidence(np.array([[0.0, 0.0], [10.0, 0.0]])) == pytest.approx([0.5, 1 / (1 + np.exp(-10))])
    with pytest.raises(PocketMLError):
        cascade_curve(conf, local[:2], remote, 1, 1)


def test_shrink_result_has_an_energy_budget(nano_result):
    result, out = nano_result
    doc = json.loads((out / "result.json").read_text())
    e = doc["energy"]
    for key in ("joules_per_inference", "sleep_watts", "battery_joules", "lifetime_days"):
        assert key in e
    assert e["sleep_watts"] == pytest.approx(9.5e-6) and e["battery_joules"] == pytest.approx(2538)
    cm = doc.get("cortexm") or {}
    # the cycle estimate from the M4 build's instruction mix, else its instruction count, else the cost model
    cycles = (cm.get("cycles_estimate") or {}).get("cycles") or cm.get("instructions_per_inference") \
        or doc["estimate"]["cycles"]
    assert e["joules_per_inference"] == pytest.approx(9.9e-3 * cycles / 64e6)
    if cm:  # the energy follows the DSP build's counts
        assert cm["kernels"] == "dsp-speed" and cycles > cm["instructions_per_inference"]
    assert "<h2>Energy (estimate)</h2>" in (out / "report.html").read_text()


def test_offload_cascade_in_result_and_report(nano_result, digits_trained):
    # Prepare: recompute the cascade by hand from the C outputs and the SVM server's predictions
    from pocketml.deploy.c import run_host
    from pocketml.energy import find_radio
    from pocketml.models.server import fit_server_model

    result, out = nano_result
    _, data = digits_trained
    doc = json.loads((out / "result.json").read_text())
    ble_casc, lora_casc = doc["energy"]["cascades"]
    casc = ble_casc
    q = run_host(out / "c" / "run_model", np.load(out / "verify" / "inputs.npy"), 10).astype(np.float64)
    logits = doc["output"]["scale"] * (q - doc["output"]["zero_point"])
    local = logits.argmax(1) == data.test.y
    remote = fit_server_model(data.train).predict(data.test.x.reshape(len(data.test.x), -1)) == data.test.y
    # Assert: the extremes are the device alone and the server alone, on the same 360 samples
    ble = find_radio(casc["radio"])
    all_local, all_off = casc["points"][0], casc["points"][-1]
    assert all_local["threshold"] == 0.0 and all_local["accuracy"] == pytest.approx(local.mean())
    assert all_local["joules_per_inference"] == pytest.approx(doc["energy"]["joules_per_inference"]
                                                              + ble.message_joules(10))
    assert all_off["accuracy"] == pytest.approx(remote.mean())
    assert all_off["joules_per_inference"] == pytest.approx(ble.message_joules(64) + ble.message_joules(1))
    conf = softmax_confidence(logits)
    for p in casc["points"][1:-1]:  # each threshold: offloaded samples take the server's answer
        off = conf < p["threshold"]
        assert p["accuracy"] == pytest.approx(np.mean(np.where(off, remote, local)))
        assert p["offloaded_fraction"] == pytest.approx(off.mean())
    # the target is the better extreme's accuracy, so a point always meets it: the cheapest of those is chosen
    assert casc["target_accuracy"] == pytest.approx(max(local.mean(), remote.mean()))
    chosen = casc["chosen"]
    assert chosen is not None and chosen["accuracy"] >= casc["target_accuracy"]
    meeting = [p["joules_per_inference"] for p in casc["points"] if p["accuracy"] >= casc["target_accuracy"]]
    assert chosen["joules_per_inference"] == min(meeting)
    # over LoRa (sending 64 B costs more than inferring) the cascade beats both extremes; over BLE it cannot
    assert lora_casc["radio"] == "lora" and lora_casc["beats_both"] and not ble_casc["beats_both"]
    page = (out / "report.html").read_text()
    assert "Offloading cascade over ble (server: SVC)" in page and "Offloading cascade over lora" in page
    assert "beats both all-local and all-offloaded" in page


def test_cli_energy_json_and_errors(nano_result):
    _, out = nano_result
    cmd = [sys.executable, "-m", "pocketml.cli", "energy", str(out)]
    proc = subprocess.run([*cmd, "--rate", "1/min", "--radio", "lora", "--battery", "2xaa", "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["radio"] == "lora" and doc["battery"] == "2xaa" and doc["battery_joules"] == pytest.approx(30_780)
    bad = subprocess.run([*cmd, "--battery", "lipo"], capture_output=True, text=True)
    assert bad.returncode == 1 and "unknown battery 'lipo'" in bad.stderr and "Traceback" not in bad.stderr


def test_codecarbon_offline_record_is_labelled():
    from pocketml.energy import carbon_available, track_emissions

    if not carbon_available():
        pytest.skip("codecarbon not installed (pip install 'pocketml[carbon]')")
    with track_emissions("train", region="fra") as rec:
        float(np.linalg.norm(np.random.default_rng(0).standard_normal((300, 300)) @ np.ones(300)))
    r = rec.value
    assert r.stage == "train" and r.region == "FRA" and r.seconds > 0
    assert r.energy_kwh >= 0 and r.kg_co2e >= 0
    assert "codecarbon" in r.method and "offline" in r.method
    if r.estimate:  # no RAPL/NVML here: the method must say it is TDP-based
        assert "estimate" in r.method and "TDP" in r.method
