"""Raw topics that devices write through the ingestion gateway.

Retention is what production's API topic manager applied; table names are
production's where it had one.
"""

from __future__ import annotations

from loomlite.contract.catalog import TopicKind, TopicSpec, UnitConversion
from loomlite.contract.models import (
    AccelerometerReading,
    AndroidAppCategoryStats,
    AndroidAppEvent,
    AndroidAppMonitoring,
    AndroidAppUsageAggregated,
    AudioChunk,
    BarometerReading,
    BloodOxygenReading,
    BloodPressureReading,
    DeviceMetadata,
    GPSReading,
    GyroscopeReading,
    HeartRateReading,
    ImageData,
    LightReading,
    MacOSAppMonitoring,
    MagnetometerReading,
    NetworkBluetoothReading,
    NetworkWiFiReading,
    PowerState,
    SensorReading,
    SleepReading,
    StepsReading,
    TemperatureReading,
    VideoData,
)
from loomlite.contract.topics._build import WEEK, days, table

__all__ = ["DEVICE_TOPICS"]

RAW = TopicKind.RAW

_MEDIA = [
    TopicSpec(
        name="device.audio.raw",
        kind=RAW,
        description=(
            "Microphone audio chunks, one message per chunk. 'data' is the "
            "canonical audio field: production also sent 'chunk_data' (unified "
            "endpoint, macOS client) and 'audio_data' (Ubuntu client, test "
            "producer). 'encoding' is an old name of 'format', and "
            "'duration_seconds' is converted to 'duration_ms'."
        ),
        models={1: AudioChunk},
        retention=days(7),
        table=table("device_audio_raw"),
        field_aliases={
            "chunk_data": "data",
            "audio_data": "data",
            "encoding": "format",
        },
        unit_conversions={"duration_seconds": UnitConversion("duration_ms", 1000)},
    ),
    TopicSpec(
        name="device.image.camera.raw",
        kind=RAW,
        description=(
            "Camera photos. 'task.image.analyze', the request topic of "
            "production's unused Moondream Station service, is an alias: in "
            "loomlite every image on this topic is analysed."
        ),
        models={1: ImageData},
        aliases=("task.image.analyze",),
        retention=days(15),
        table=table("device_image_camera_raw"),
    ),
    TopicSpec(
        name="device.image.screenshot.raw",
        kind=RAW,
        description=(
            "Screenshots. Production's unified endpoint sent its 'screenshot' "
            "message type to device.video.screen.raw by mistake; screenshots "
            "belong here. The table is separate from the camera table, where "
            "production's database mapping put both."
        ),
        models={1: ImageData},
        retention=days(7),
        table=table("device_image_screenshot_raw"),
    ),
    TopicSpec(
        name="device.video.screen.raw",
        kind=RAW,
        description="Screen recording clips.",
        models={1: VideoData},
        retention=days(7),
        table=table("device_video_screen_raw"),
    ),
]

_SENSORS = [
    TopicSpec(
        name="device.sensor.gps.raw",
        kind=RAW,
        description=(
            "GPS fixes. 'heading' is canonical, as the API and the mobile app "
            "sent it; 'bearing' (JSON schema, database column) is an alias."
        ),
        models={1: GPSReading},
        retention=days(30),
        table=table("device_sensor_gps_raw"),
        field_aliases={"bearing": "heading"},
    ),
    TopicSpec(
        name="device.sensor.accelerometer.raw",
        kind=RAW,
        description="Accelerometer samples in m/s², gravity included.",
        models={1: AccelerometerReading},
        retention=days(30),
        table=table("device_sensor_accelerometer_raw"),
    ),
    TopicSpec(
        name="device.sensor.gyroscope.raw",
        kind=RAW,
        description="Gyroscope samples.",
        models={1: GyroscopeReading},
        retention=days(30),
        table=table("device_sensor_gyroscope_raw"),
    ),
    TopicSpec(
        name="device.sensor.magnetometer.raw",
        kind=RAW,
        description="Magnetometer samples.",
        models={1: MagnetometerReading},
        retention=days(30),
        table=table("device_sensor_magnetometer_raw"),
    ),
    TopicSpec(
        name="device.sensor.temperature.raw",
        kind=RAW,
        description="Temperature readings.",
        models={1: TemperatureReading},
        retention=days(30),
        table=table("device_sensor_temperature_raw"),
    ),
    TopicSpec(
        name="device.sensor.barometer.raw",
        kind=RAW,
        description="Air pressure readings.",
        models={1: BarometerReading},
        retention=days(30),
        table=table("device_sensor_barometer_raw"),
    ),
    TopicSpec(
        name="device.sensor.light.raw",
        kind=RAW,
        description="Ambient light readings.",
        models={1: LightReading},
        retention=days(30),
        table=table("device_sensor_light_raw"),
    ),
    TopicSpec(
        name="device.sensor.generic.raw",
        kind=RAW,
        description=(
            "Sensor batch items whose sensor_type has no topic of its own. "
            "Production wrote each to 'device.sensor.<sensor_type>.raw', "
            "creating topics on the fly; loomlite keeps them in one topic and "
            "one table keyed by sensor_type."
        ),
        models={1: SensorReading},
        retention=WEEK,
        table=table("device_sensor_generic_raw", "sensor_type"),
    ),
    TopicSpec(
        name="device.state.power.raw",
        kind=RAW,
        description=(
            "Battery and power supply state. Canonical name of the topic "
            "production pre-created and documented; its '/sensor/power' "
            "endpoint wrote 'device.sensor.power.raw', kept as an alias. "
            "'temperature_celsius' (test producer) means 'battery_temperature'."
        ),
        models={1: PowerState},
        aliases=("device.sensor.power.raw",),
        retention=days(30),
        table=table("device_state_power_raw"),
        field_aliases={"temperature_celsius": "battery_temperature"},
    ),
    TopicSpec(
        name="device.network.wifi.raw",
        kind=RAW,
        description=(
            "Wi-Fi state. Field names follow the API; the database mapping's "
            "'is_connected', 'security_type', 'frequency_mhz' and 'link_speed' "
            "are aliases."
        ),
        models={1: NetworkWiFiReading},
        retention=days(7),
        table=table("device_network_wifi_raw"),
        field_aliases={
            "is_connected": "connected",
            "security_type": "security",
            "frequency_mhz": "frequency",
            "link_speed": "link_speed_mbps",
        },
    ),
    TopicSpec(
        name="device.network.bluetooth.raw",
        kind=RAW,
        description=(
            "Bluetooth devices in range, one message per device. "
            "'bluetooth_address' and 'bluetooth_mac' (production table "
            "variants) mean 'device_address'; 'is_connected' means 'connected'."
        ),
        models={1: NetworkBluetoothReading},
        retention=days(7),
        table=table("device_network_bluetooth_raw", "device_address"),
        field_aliases={
            "bluetooth_address": "device_address",
            "bluetooth_mac": "device_address",
            "is_connected": "connected",
        },
    ),
]

_HEALTH = [
    TopicSpec(
        name="device.health.heartrate.raw",
        kind=RAW,
        description=(
            "Heart rate readings. Canonical name of the topic production "
            "pre-created and consumed; its '/sensor/heartrate' endpoint wrote "
            "'device.sensor.heartrate.raw', kept as an alias. 'bpm' is "
            "canonical; 'heart_rate' (database mapping, test producer) and "
            "'heartrate' (Ubuntu client) are aliases."
        ),
        models={1: HeartRateReading},
        aliases=("device.sensor.heartrate.raw",),
        retention=days(60),
        table=table("device_health_heartrate_raw"),
        field_aliases={"heart_rate": "bpm", "heartrate": "bpm"},
    ),
    TopicSpec(
        name="device.health.steps.raw",
        kind=RAW,
        description=(
            "Step counts that a device reports itself. Steps that loomlite "
            "derives from the accelerometer go to device.health.steps.derived, "
            "never here (production's step counter mixed both in this topic)."
        ),
        models={1: StepsReading},
        retention=days(60),
        table=table("device_health_steps_raw"),
    ),
    TopicSpec(
        name="device.health.sleep.raw",
        kind=RAW,
        description="Sleep stages with their durations.",
        models={1: SleepReading},
        retention=days(60),
        table=table("device_health_sleep_raw"),
    ),
    TopicSpec(
        name="device.health.blood_oxygen.raw",
        kind=RAW,
        description="Blood oxygen saturation (SpO2) readings.",
        models={1: BloodOxygenReading},
        retention=days(60),
        table=table("device_health_blood_oxygen_raw"),
    ),
    TopicSpec(
        name="device.health.blood_pressure.raw",
        kind=RAW,
        description="Blood pressure readings.",
        models={1: BloodPressureReading},
        retention=days(60),
        table=table("device_health_blood_pressure_raw"),
    ),
]

_APPS = [
    TopicSpec(
        name="device.system.apps.macos.raw",
        kind=RAW,
        description="Snapshots of the running macOS applications.",
        models={1: MacOSAppMonitoring},
        retention=days(30),
        table=table("device_system_apps_macos_raw"),
    ),
    TopicSpec(
        name="device.system.apps.android.raw",
        kind=RAW,
        description="Snapshots of the running Android applications.",
        models={1: AndroidAppMonitoring},
        retention=days(30),
        table=table("device_system_apps_android_raw"),
    ),
    TopicSpec(
        name="device.app_usage.android.aggregated",
        kind=RAW,
        description=(
            "Android UsageStats totals per aggregation period; the per-app "
            "lists are stored as JSON columns of one row."
        ),
        models={1: AndroidAppUsageAggregated},
        retention=days(90),
        table=table("device_app_usage_android_aggregated", "aggregation_period_start"),
    ),
    TopicSpec(
        name="device.app_usage.android.events",
        kind=RAW,
        description="Single Android UsageEvents events.",
        models={1: AndroidAppEvent},
        retention=days(30),
        table=table(
            "device_app_usage_android_events_individual", "package_name", "event_type"
        ),
    ),
    TopicSpec(
        name="device.app_usage.android.categories",
        kind=RAW,
        description="Android screen time per app category per aggregation period.",
        models={1: AndroidAppCategoryStats},
        retention=days(90),
        table=table(
            "device_app_usage_android_categories_aggregated",
            "aggregation_period_start",
        ),
    ),
    TopicSpec(
        name="device.metadata.raw",
        kind=RAW,
        description=(
            "Free-form facts about a device, one object per metadata_type "
            "(any type is accepted, as production's API did)."
        ),
        models={1: DeviceMetadata},
        retention=days(90),
        table=table("device_metadata_raw", "metadata_type"),
    ),
]

DEVICE_TOPICS: list[TopicSpec] = [*_MEDIA, *_SENSORS, *_HEALTH, *_APPS]
