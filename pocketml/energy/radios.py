"""What it costs to send bytes: BLE, LoRa(WAN), NB-IoT and Wi-Fi, from datasheet currents and protocol timing.

    energy(message of B bytes) = per_message_j                       (wake, connect, receive windows)
                               + packets(B) x per_packet_j           (headers, inter-frame gaps, ACKs)
                               + B x per_byte_j                      (payload airtime at TX power)
    packets(B) = max(1, ceil(B / max_payload_bytes))

LoRa is the exception: its airtime is not linear in bytes, so each packet's energy comes from the
time-on-air formula of the Semtech SX1276 datasheet (section 4.1.1.7) at the configured spreading
factor. Every constant and its derivation is in docs/energy.md; figures marked "assumption" there
are modelling choices, not datasheet values.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

from pocketml.errors import PocketMLError


@dataclass(frozen=True)
class Radio:
    id: str
    name: str
    per_byte_j: float
    per_packet_j: float
    per_message_j: float
    max_payload_bytes: int
    idle_w: float  # keeping the link (BLE connection events); 0 where the radio is off between messages
    peak_a: float  # the largest current it draws (checked against the battery's pulse limit)
    seconds_per_byte: float
    source: str
    lora_sf: int = 0  # >0: airtime from the LoRa time-on-air formula instead of per_byte_j

    def packets(self, nbytes: int) -> int:
        return max(1, math.ceil(nbytes / self.max_payload_bytes))

    def message_joules(self, nbytes: int) -> float:
        """Energy (J) to send one message of ``nbytes`` application bytes."""
        if nbytes < 0:
            raise PocketMLError(f"a message cannot have {nbytes} bytes", "pass a byte count >= 0")
        if self.lora_sf:
            return self.per_message_j + sum(
                self.per_packet_j + LORA_TX_W * lora_time_on_air(n + LORAWAN_OVERHEAD_BYTES, self.lora_sf)
                for n in _split(nbytes, self.max_payload_bytes))
        return self.per_message_j + self.packets(nbytes) * self.per_packet_j + nbytes * self.per_byte_j

    def message_seconds(self, nbytes: int) -> float:
        """Airtime (s) of the message's payload and headers (not receive windows or connection set-up)."""
        if self.lora_sf:
            return sum(lora_time_on_air(n + LORAWAN_OVERHEAD_BYTES, self.lora_sf)
                       for n in _split(nbytes, self.max_payload_bytes))
        return nbytes * self.seconds_per_byte


def _split(nbytes: int, size: int) -> list[int]:
    if nbytes == 0:
        return [0]
    return [min(size, nbytes - i) for i in range(0, nbytes, size)]


def lora_time_on_air(payload_bytes: int, sf: int, bw_hz: float = 125e3, coding_rate: int = 1,
                     preamble_symbols: int = 8, crc: bool = True, explicit_header: bool = True) -> float:
    """Seconds on air of one LoRa packet (Semtech SX1276/77/78/79 datasheet rev. 7, section 4.1.1.7).

    T_sym = 2^SF / BW; T_preamble = (n_preamble + 4.25) T_sym;
    n_payload = 8 + max(ceil((8 PL - 4 SF + 28 + 16 CRC - 20 IH) / (4 (SF - 2 DE))) (CR + 4), 0),
    with DE (low data rate optimisation) on when T_sym > 16 ms (SF11 and SF12 at 125 kHz).
    """
    t_sym = 2 ** sf / bw_hz
    de = 1 if t_sym > 0.016 else 0
    ih = 0 if explicit_header else 1
    num = 8 * payload_bytes - 4 * sf + 28 + 16 * int(crc) - 20 * ih
    n_payload = 8 + max(math.ceil(num / (4 * (sf - 2 * de))) * (coding_rate + 4), 0)
    return (preamble_symbols + 4.25) * t_sym + n_payload * t_sym


# --- BLE: Nordic nRF52840 (the Nano 33 BLE Sense's radio), 1 Mbit/s PHY, 0 dBm, DC/DC at 3.0 V ---
BLE_V = 3.0
BLE_TX_A = 6.40e-3  # IRADIO_TX1: 0 dBm, 1 Mbps BLE, HFXO, DC/DC
BLE_RX_A = 6.26e-3  # IRADIO_RX0: 1 Mbps BLE, HFXO, DC/DC
BLE_BIT_S = 1e-6  # 1 Mbit/s PHY
BLE_OVERHEAD_BYTES = 1 + 4 + 2 + 3 + 4 + 3  # preamble, access address, LL header, CRC, L2CAP, ATT notification
BLE_EMPTY_PDU_BYTES = 1 + 4 + 2 + 3  # the central's empty acknowledgement packet
BLE_T_IFS_S = 150e-6
BLE_RAMP_S = 40e-6  # fast ramp-up (tTXEN,BLE / tRXEN,BLE, fast mode)
_BLE_ACK_J = BLE_V * BLE_RX_A * (BLE_T_IFS_S + 8 * BLE_EMPTY_PDU_BYTES * BLE_BIT_S)
_BLE_RAMP_J = BLE_V * BLE_TX_A * BLE_RAMP_S

# --- LoRa: Semtech SX1276, LoRaWAN EU868 uplink, 125 kHz, CR 4/5, +13 dBm on RFO_HF at 3.3 V ---
LORA_V = 3.3
LORA_TX_A = 29e-3
LORA_RX_A = 11e-3
LORA_TX_W = LORA_V * LORA_TX_A
LORAWAN_OVERHEAD_BYTES = 13  # MHDR 1 + FHDR 7 (no FOpts) + FPort 1 + MIC 4
LORA_RX_WINDOW_SYMBOLS = 5  # assumption: each Class A window closes after a missed preamble


def _lora(sf: int, max_payload: int) -> Radio:
    t_sym = 2 ** sf / 125e3
    rx_windows_j = 2 * LORA_RX_WINDOW_SYMBOLS * t_sym * LORA_V * LORA_RX_A
    return Radio(
        f"lora-sf{sf}" if sf != 7 else "lora", f"LoRaWAN EU868 SF{sf}/125 kHz (SX1276, +13 dBm)",
        per_byte_j=0.0, per_packet_j=0.0, per_message_j=rx_windows_j, max_payload_bytes=max_payload,
        idle_w=0.0, peak_a=LORA_TX_A, seconds_per_byte=0.0, lora_sf=sf,
        source=("Semtech SX1276/77/78/79 datasheet rev. 7: time on air section 4.1.1.7; Table 6 supply current "
                "IDDT +13 dBm on RFO_HF 29 mA, IDDR_L receive about 11 mA (10.8-12 mA by band/LnaBoost; not "
                "re-verified in this session); LoRaWAN 1.0.x frame overhead 13 B; LoRaWAN Regional Parameters "
                f"RP002 EU863-870 maximum application payload {max_payload} B at this data rate; "
                f"two receive windows of {LORA_RX_WINDOW_SYMBOLS} symbols each (assumption)"))


RADIOS = {
    "ble": Radio(
        "ble", "Bluetooth LE 1M PHY, 0 dBm (nRF52840), notifications on an open connection",
        per_byte_j=BLE_V * BLE_TX_A * 8 * BLE_BIT_S,
        per_packet_j=BLE_V * BLE_TX_A * 8 * BLE_OVERHEAD_BYTES * BLE_BIT_S + _BLE_ACK_J + _BLE_RAMP_J,
        per_message_j=0.0, max_payload_bytes=20,
        idle_w=(BLE_V * BLE_TX_A * 8 * BLE_EMPTY_PDU_BYTES * BLE_BIT_S + _BLE_ACK_J + _BLE_RAMP_J) / 1.0,
        peak_a=BLE_TX_A, seconds_per_byte=8 * BLE_BIT_S,
        source=("nRF52840 Product Specification (docs.nordicsemi.com), radio current consumption: IRADIO_TX1 "
                "6.40 mA (0 dBm, 1 Mbps BLE, HFXO, DC/DC), IRADIO_RX0 6.26 mA; Bluetooth Core Specification "
                "v5.x Vol 6 Part B (LE 1M: 1 us/bit; packet = preamble 1 + access address 4 + header 2 + "
                "payload + CRC 3 bytes; T_IFS 150 us), Vol 3 (L2CAP header 4 B, ATT notification header 3 B, "
                "default ATT_MTU 23 => 20 B per packet); fast radio ramp-up 40 us (nRF52840 PS, RADIO timing); "
                "idle: one empty connection event per second (1 s connection interval, assumption)")),
    "lora": _lora(7, 222),
    "lora-sf12": _lora(12, 51),
    "nbiot": Radio(
        "nbiot", "NB-IoT uplink (class of u-blox SARA-N2 / Nordic nRF9160), PSM between messages",
        per_byte_j=3.7 * 0.22 * 8 / 20_000, per_packet_j=0.0, per_message_j=0.5, max_payload_bytes=1358,
        idle_w=3.7 * 3e-6, peak_a=0.22, seconds_per_byte=8 / 20_000,
        source=("per byte: 220 mA TX at +23 dBm x 3.7 V (u-blox SARA-N2 series data sheet, current consumption; "
                "not re-verified in this session) at about 20 kbit/s effective uplink (3GPP Rel-13 NB-IoT, "
                "single-tone 15 kHz; assumption); per message 0.5 J for RRC connection set-up, the radio's "
                "active time and release with release-assistance (order of magnitude reported by measurement "
                "studies such as Martinez et al., 'Exploring the Performance Boundaries of NB-IoT', IEEE IoT "
                "Journal 2019, which report 0.1-5 J per report depending on coverage; assumption); PSM floor "
                "3 uA (SARA-N2 data sheet; not re-verified); max payload 1358 B (UDP over NB-IoT, assumption)")),
    "wifi": Radio(
        "wifi", "Wi-Fi 802.11n (ESP32-S3 class), wake from deep sleep, reconnect, send over UDP/MQTT",
        per_byte_j=3.3 * 0.29 * 8 / 6.5e6 * 4, per_packet_j=3.3 * 0.29 * 300e-6, per_message_j=0.3,
        max_payload_bytes=1460, idle_w=0.0, peak_a=0.34, seconds_per_byte=8 / 6.5e6 * 4,
        source=("TX current about 290 mA at 802.11n MCS7 HT20 (ESP32-S3 Series Datasheet v2.2, Table 'Current "
                "Consumption Depending on RF Modes'; not re-verified in this session) x 3.3 V; 6.5 Mbit/s "
                "MCS0 with x4 protocol overhead (assumption); per packet 300 us of preamble, SIFS and ACK at TX "
                "current (assumption); per message 0.3 J for association, DHCP lease reuse and one MQTT publish "
                "after deep sleep (assumption from ~1 s at ~90 mA RX-dominated activity)")),
}


def find_radio(radio_id: str) -> Radio:
    key = radio_id.lower()
    if key in RADIOS:
        return RADIOS[key]
    close = difflib.get_close_matches(key, list(RADIOS), n=2, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise PocketMLError(f"unknown radio '{radio_id}'", f"{hint}known radios: {', '.join(RADIOS)}")
