"""Raw sensor, power and network readings from devices.

Field names are those of the production ingestion API's request bodies, plus
the optional fields that production's test producer and database mapping
carry for the same topics (e.g. the accelerometer's ``magnitude``).
"""

from __future__ import annotations

from pydantic import Field

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import Metadata
from loomlite.contract.types import JsonObject

__all__ = [
    "AccelerometerReading",
    "BarometerReading",
    "GPSReading",
    "GyroscopeReading",
    "LightReading",
    "MagnetometerReading",
    "NetworkBluetoothReading",
    "NetworkWiFiReading",
    "PowerState",
    "SensorReading",
    "TemperatureReading",
]


class GPSReading(Envelope):
    """A location fix."""

    latitude: float = Field(ge=-90.0, le=90.0, description="Decimal degrees.")
    longitude: float = Field(ge=-180.0, le=180.0, description="Decimal degrees.")
    altitude: float | None = Field(None, description="Metres above sea level.")
    accuracy: float | None = Field(None, ge=0.0, description="Radius in metres.")
    heading: float | None = Field(None, description="Degrees clockwise from north.")
    speed: float | None = Field(None, ge=0.0, description="Metres per second.")
    provider: str | None = Field(None, description="e.g. gps, network, fused.")
    metadata: Metadata = None


class AccelerometerReading(Envelope):
    """One 3-axis accelerometer sample in m/s², gravity included."""

    x: float
    y: float
    z: float
    accuracy: int | None = Field(None, description="Platform accuracy level.")
    magnitude: float | None = Field(None, ge=0.0, description="|a| in m/s².")
    sample_rate: float | None = Field(None, gt=0.0, description="Declared Hz.")
    metadata: Metadata = None


class GyroscopeReading(Envelope):
    """One 3-axis angular velocity sample."""

    x: float
    y: float
    z: float
    unit: str = "rad/s"
    metadata: Metadata = None


class MagnetometerReading(Envelope):
    """One 3-axis magnetic field sample."""

    x: float
    y: float
    z: float
    unit: str = "μT"
    metadata: Metadata = None


class TemperatureReading(Envelope):
    temperature: float
    unit: str = "celsius"
    sensor_location: str | None = None
    metadata: Metadata = None


class BarometerReading(Envelope):
    pressure: float = Field(ge=0.0)
    unit: str = "hPa"
    altitude: float | None = Field(None, description="Metres.")
    metadata: Metadata = None


class LightReading(Envelope):
    lux: float = Field(ge=0.0)
    color_temperature: int | None = Field(None, description="Kelvin.")
    metadata: Metadata = None


class SensorReading(Envelope):
    """A reading of a sensor type that has no topic of its own."""

    sensor_type: str = Field(min_length=1, description="e.g. humidity.")
    value: JsonObject = Field(description="The reading, as the client sent it.")
    unit: str | None = None
    accuracy: float | None = None
    metadata: Metadata = None


class PowerState(Envelope):
    """Battery and power supply state."""

    battery_level: float = Field(ge=0.0, le=100.0, description="Percent.")
    is_charging: bool
    power_source: str | None = Field(None, description="e.g. ac_charger, battery.")
    lid_closed: bool | None = None
    thermal_state: str | None = None
    is_plugged_in: bool | None = None
    battery_temperature: float | None = Field(None, description="Celsius.")
    voltage: float | None = Field(None, description="Volts.")
    battery_health: str | None = None
    metadata: Metadata = None


class NetworkWiFiReading(Envelope):
    """A Wi-Fi network in range of a device, or the one it is connected to."""

    ssid: str
    signal_strength: int = Field(description="dBm.")
    bssid: str | None = None
    security: str | None = None
    ip_address: str | None = None
    frequency: float | None = Field(None, ge=0.0, description="MHz.")
    channel: int | None = None
    link_speed_mbps: float | None = Field(None, ge=0.0)
    connected: bool = False
    metadata: Metadata = None


class NetworkBluetoothReading(Envelope):
    """A Bluetooth device in range."""

    device_name: str
    device_address: str = Field(min_length=1, description="MAC address.")
    device_type: str | None = None
    rssi: int | None = Field(None, description="dBm.")
    connected: bool = False
    paired: bool = False
    metadata: Metadata = None
