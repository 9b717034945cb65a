"""The catalog: every production name resolves, and the declarations agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomlite.contract import (
    CATALOG,
    ERROR_STAGES,
    Catalog,
    Envelope,
    ProcessingError,
    TableSpec,
    TopicKind,
    TopicSpec,
    UnitConversion,
    error_topic,
)
from loomlite.errors import ContractError, UnknownTopicError

INVENTORY = (
    Path(__file__).resolve().parents[3] / "fixtures/reference/topic-inventory.txt"
)

PRODUCTION_STAGES = (
    "accelerometer",
    "activity_classification",
    "app_lifecycle",
    "audio_classifier",
    "business_match",
    "calendar_fetch",
    "email_fetch",
    "embedding",
    "face_detection",
    "geocoding",
    "georegion",
    "hn_scrape",
    "image_preprocessing",
    "object_detection",
    "ocr",
    "stt",
    "vad",
    "vision_preprocessing",
)

LOOMLITE_STAGES = (
    "ingest",
    "persist",
    "caption",
    "emotion",
    "steps",
    "motion",
    "activity",
    "url_processing",
    "twitter_fetch",
)


def inventory_names() -> list[str]:
    lines = INVENTORY.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_inventory_lists_production_names() -> None:
    names = inventory_names()
    assert len(names) == len(set(names))
    assert len(names) >= 115


@pytest.mark.parametrize("name", inventory_names())
def test_inventory_name_resolves(name: str) -> None:
    spec = CATALOG.get(name)
    assert spec.name == CATALOG.resolve(name)
    assert name == spec.name or name in spec.aliases


def test_canonical_names_are_unique() -> None:
    names = [spec.name for spec in CATALOG]
    assert len(names) == len(set(names))
    assert len(names) == len(CATALOG)


def test_aliases_never_collide() -> None:
    canonical = {spec.name for spec in CATALOG}
    seen: dict[str, str] = {}
    for spec in CATALOG:
        for alias in spec.aliases:
            assert alias not in canonical, f"{alias} is also a canonical name"
            assert alias not in seen, f"{alias} belongs to {seen.get(alias)}"
            seen[alias] = spec.name


@pytest.mark.parametrize("spec", list(CATALOG), ids=lambda spec: spec.name)
def test_topic_has_table_or_reason(spec: TopicSpec) -> None:
    assert (spec.table is None) != (spec.not_persisted_reason is None)
    if spec.table is not None:
        assert "recorded_at" in spec.table.natural_key
        for column in spec.table.natural_key:
            assert column in spec.model.model_fields
    assert spec.description


@pytest.mark.parametrize("spec", list(CATALOG), ids=lambda spec: spec.name)
def test_field_aliases_name_model_fields(spec: TopicSpec) -> None:
    fields = spec.model.model_fields
    for alias, target in spec.field_aliases.items():
        assert target in fields
        assert alias not in fields
    for legacy, conversion in spec.unit_conversions.items():
        assert conversion.target in fields
        assert legacy not in fields


def test_error_topics_use_processing_error() -> None:
    errors = list(CATALOG.by_kind(TopicKind.ERROR))
    assert errors
    for spec in errors:
        assert spec.model is ProcessingError
        assert spec.name.startswith("processing.errors.")
        assert spec.table is not None
        assert spec.table.natural_key == (
            "stage",
            "source_topic",
            "source_partition",
            "source_offset",
            "recorded_at",
        )


def test_only_error_topics_use_processing_error() -> None:
    for spec in CATALOG:
        if spec.kind is not TopicKind.ERROR:
            assert spec.model is not ProcessingError, spec.name


@pytest.mark.parametrize("stage", PRODUCTION_STAGES + LOOMLITE_STAGES)
def test_error_topic_of_stage(stage: str) -> None:
    name = error_topic(stage)
    assert CATALOG.get(name).kind is TopicKind.ERROR
    assert name == CATALOG.resolve(f"processing.errors.{stage}")


def test_error_stages_include_production_stages() -> None:
    for stage in PRODUCTION_STAGES:
        assert stage in ERROR_STAGES


def test_error_topic_rejects_unknown_stage() -> None:
    with pytest.raises(ContractError, match=r"unknown processing stage 'bogus'"):
        error_topic("bogus")


def test_error_topic_rejects_non_error_topic() -> None:
    catalog = Catalog([make_spec("processing.errors.fake", Sample, None)])
    with pytest.raises(ContractError, match="unknown processing stage 'fake'"):
        error_topic("fake", catalog)


@pytest.mark.parametrize(
    ("alias", "stage"),
    [
        ("dlq.audio.processing", "vad"),
        ("dlq.image.processing", "image_preprocessing"),
        ("dlq.text.processing", "embedding"),
        ("dlq.document.processing", "document_parse"),
        ("dlq.general", "general"),
    ],
)
def test_dlq_names_resolve_to_error_topics(alias: str, stage: str) -> None:
    assert CATALOG.resolve(alias) == f"processing.errors.{stage}"


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("device.sensor.heartrate.raw", "device.health.heartrate.raw"),
        ("device.sensor.power.raw", "device.state.power.raw"),
        ("device.text.notes.raw", "digital.notes.raw"),
        ("digital.documents.raw", "task.document.ingest"),
        ("external.twitter.screenshots.raw", "external.twitter.images.raw"),
        ("media.audio.voice_segments", "media.audio.vad_filtered"),
        ("media.text.word_timestamps", "media.text.transcribed.words"),
        ("media.image.analysis.minicpm_results", "media.image.vision_annotations"),
        ("analysis.audio.emotion_results", "analysis.audio.emotion_scores"),
        ("analysis.image.emotion_results", "analysis.image.face_emotions"),
        (
            "analysis.inferred_context.mistral_results",
            "analysis.context.reasoning_chains",
        ),
        ("task.url.processed_content", "task.url.processed.content"),
        ("external.hackernews.favorites.raw", "external.hackernews.activity.raw"),
        ("task.likes.hackernews", "external.hackernews.activity.raw"),
        ("external.hackernews.liked", "external.hackernews.activity.raw"),
        ("external.email.raw", "external.email.events.raw"),
        ("media.text.ocr_extracted", "media.image.analysis.moondream_results"),
    ],
)
def test_decided_alias(alias: str, canonical: str) -> None:
    assert CATALOG.resolve(alias) == canonical


def test_derived_steps_have_own_topic() -> None:
    derived = CATALOG.get("device.health.steps.derived")
    raw = CATALOG.get("device.health.steps.raw")
    assert derived.kind is TopicKind.DERIVED
    assert derived.model is not raw.model
    assert derived.table is not None
    assert raw.table is not None
    assert derived.table.name != raw.table.name


@pytest.mark.parametrize(
    ("topic", "days", "partitions"),
    [
        ("device.audio.raw", 7, 3),
        ("device.sensor.gps.raw", 30, 3),
        ("device.health.heartrate.raw", 60, 3),
        ("device.image.camera.raw", 15, 3),
        ("external.calendar.events.raw", 365, 3),
        ("external.hackernews.activity.raw", 180, 2),
        ("internal.scheduled.jobs.status", 7, 1),
        ("scheduler.triggers.email_fetch", 1, 1),
        ("task.url.processed.content", 180, 3),
        ("device.sensor.generic.raw", 7, 3),
        ("processing.errors.vad", 7, 3),
    ],
)
def test_retention_and_partitions(topic: str, days: int, partitions: int) -> None:
    spec = CATALOG.get(topic)
    assert spec.retention.max_age is not None
    assert spec.retention.max_age.days == days
    assert spec.partitions == partitions


def test_email_and_calendar_carry_content_hash() -> None:
    for topic in ("external.email.events.raw", "external.calendar.events.raw"):
        assert "content_hash" in CATALOG.get(topic).model.model_fields


def test_persisted_tables_are_distinct() -> None:
    tables = [spec.table.name for spec in CATALOG.persisted() if spec.table]
    assert len(tables) == len(set(tables))


def test_unknown_topic_suggests_close_name() -> None:
    with pytest.raises(UnknownTopicError, match=r"device\.sensor\.gps\.raw'"):
        CATALOG.get("device.sensor.gps.raws")


# -- Catalog and TopicSpec rules, on small hand-made topics -----------------


class Sample(Envelope):
    value: float


class OtherSample(Envelope):
    value: float


def make_spec(name: str, model: type[Envelope], table: str | None) -> TopicSpec:
    return TopicSpec(
        name=name,
        kind=TopicKind.RAW,
        description="test topic",
        models={1: model},
        table=TableSpec(table) if table else None,
        not_persisted_reason=None if table else "test topic",
    )


def test_catalog_allows_shared_table_with_same_model() -> None:
    catalog = Catalog(
        [make_spec("a.one", Sample, "shared"), make_spec("a.two", Sample, "shared")]
    )
    assert len(catalog) == 2


def test_catalog_rejects_shared_table_with_other_model() -> None:
    with pytest.raises(ContractError, match="share a model class") as caught:
        Catalog(
            [
                make_spec("a.one", Sample, "shared"),
                make_spec("a.two", OtherSample, "shared"),
            ]
        )
    assert "'shared'" in str(caught.value)
    assert "OtherSample" in str(caught.value)


def test_catalog_rejects_duplicate_name() -> None:
    with pytest.raises(ContractError, match="declared by both"):
        Catalog([make_spec("a.one", Sample, None), make_spec("a.one", Sample, None)])


def test_spec_rejects_alias_to_unknown_field() -> None:
    with pytest.raises(ValueError, match="'speed' points to 'velocity'"):
        TopicSpec(
            name="a.one",
            kind=TopicKind.RAW,
            description="test topic",
            models={1: Sample},
            not_persisted_reason="test topic",
            field_aliases={"speed": "velocity"},
        )


def test_spec_rejects_conversion_to_unknown_field() -> None:
    with pytest.raises(ValueError, match="not a field of Sample"):
        TopicSpec(
            name="a.one",
            kind=TopicKind.RAW,
            description="test topic",
            models={1: Sample},
            not_persisted_reason="test topic",
            unit_conversions={"value_ms": UnitConversion("millis", 1000)},
        )


def test_spec_rejects_key_column_not_in_model() -> None:
    with pytest.raises(ValueError, match=r"\['sensor'\]"):
        TopicSpec(
            name="a.one",
            kind=TopicKind.RAW,
            description="test topic",
            models={1: Sample},
            table=TableSpec("a_one", ("device_id", "sensor", "recorded_at")),
        )


def test_catalog_rejects_shared_table_with_other_key() -> None:
    keyed = TopicSpec(
        name="a.two",
        kind=TopicKind.RAW,
        description="test topic",
        models={1: Sample},
        table=TableSpec("shared", ("device_id", "value", "recorded_at")),
    )
    with pytest.raises(ContractError, match="different natural keys"):
        Catalog([make_spec("a.one", Sample, "shared"), keyed])
