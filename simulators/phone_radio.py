"""The phone's radio sources: the joined Wi-Fi network and Bluetooth devices."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from simulators.base import DayEvents, Message, PeriodicSource, TriggeredSource
from simulators.context import DeviceContext
from simulators.ids import IdGenerator
from simulators.places import BluetoothDevice
from simulators.scenario import PhoneScenario

__all__ = ["BluetoothSource", "WifiSource"]

# The mobile app sent a fixed signal strength instead of measuring it.
_APP_SIGNAL_STRENGTH = -50

# How many strangers' phones are in Bluetooth range, by place: (min, max).
_CROWD = {
    "mountain-hut": (2, 4),
    "office": (1, 3),
    "outdoors": (0, 1),
    "driving": (0, 2),
}


class WifiSource(TriggeredSource):
    """The joined network every ``interval`` and on joining one.

    Like the mobile app it sends nothing while the phone is not on Wi-Fi.
    """

    def __init__(
        self,
        context: DeviceContext,
        scenario: PhoneScenario,
        interval: timedelta,
        start: datetime,
    ) -> None:
        wifi_regions = set(scenario.wifi_networks)
        triggers = DayEvents(
            lambda index: [
                (crossing.at, crossing.region)
                for crossing in scenario.day(index).crossings
                if crossing.event == "enter" and crossing.region in wifi_regions
            ],
            first_day=scenario.day_index(start),
            after=start,
        )
        super().__init__("wifi", start, interval, triggers)
        self._scenario = scenario
        self._payloads = context.payloads("wifi")

    def read(self, now: datetime) -> Iterable[Message]:
        network = self._scenario.wifi_at(now)
        if network is None:
            return []
        fields = {
            "ssid": network.ssid,
            "bssid": network.bssid,
            "signal_strength": _APP_SIGNAL_STRENGTH,
            "frequency": None,
            "channel": None,
            "security": None,
            "connected": True,
            "ip_address": network.ip_address,
        }
        return [Message("device.network.wifi.raw", self._payloads.flat(now, fields))]


class BluetoothSource(PeriodicSource):
    """A scan every ``interval``: one message per device in range.

    The owner's own devices depend on the place; strangers' phones, with
    random addresses, depend on how crowded it is.
    """

    def __init__(
        self,
        context: DeviceContext,
        scenario: PhoneScenario,
        interval: timedelta,
        start: datetime,
    ) -> None:
        super().__init__("bluetooth", start, interval)
        self._scenario = scenario
        self._random = context.random("bluetooth")
        self._ids = IdGenerator(context.random("bluetooth", "addresses"))
        self._payloads = context.payloads("bluetooth")

    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        devices = self._scenario.bluetooth_at(now) + self._strangers(now)
        messages = []
        for device in devices:
            rssi = -45 if device.connected else -60
            rssi -= int(self._random.integers(0, 30 if not device.paired else 15))
            fields = {
                "device_name": device.name,
                "device_address": device.address,
                "device_type": device.device_type,
                "rssi": rssi,
                "connected": device.connected,
                "paired": device.paired,
            }
            payload = self._payloads.flat(now, fields)
            messages.append(Message("device.network.bluetooth.raw", payload))
        return messages

    def _strangers(self, now: datetime) -> list[BluetoothDevice]:
        place = self._place(now)
        low, high = _CROWD.get(place, (0, 0))
        count = int(self._random.integers(low, high + 1))
        strangers = []
        for _ in range(count):
            name = f"Phone {self._ids.hex(4).upper()}"
            strangers.append(
                BluetoothDevice(name, self._ids.mac_address(), "phone", False, False)
            )
        return strangers

    def _place(self, now: datetime) -> str:
        activity = self._scenario.activity_at(now)
        if activity == "driving":
            return "driving"
        region = self._scenario.region_at(now)
        if region is not None:
            return region
        return "outdoors" if activity == "walking" else "elsewhere"
