"""Topology construction, edges and the lint run at start."""

from __future__ import annotations

import logging

import pytest

from loomlite.contract.envelope import Envelope
from loomlite.errors import ComponentError, TopologyError
from loomlite.runtime.component import Component
from loomlite.runtime.context import Context
from loomlite.runtime.subscription import subscribe
from loomlite.runtime.topology import Edge, EdgeKind, Node, NodeKind, Topology
from tests.unit.runtime.pipeline import (
    GPS,
    NOTE,
    PLACE,
    UNUSED,
    Geocoder,
    GpsFix,
    Note,
    Place,
    PlaceRecorder,
    WordCounter,
    build_catalog,
)


class Misspelled(Component):
    name = "misspelled"

    @subscribe("device.sensor.gsp.raw", stage="geocoding")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        pass


class WrongModel(Component):
    name = "wrong"

    @subscribe(GPS, stage="geocoding")
    async def on_fix(self, message: Note, context: Context) -> None:
        pass


class Wasteful(Component):
    name = "wasteful"
    publishes = (UNUSED,)

    @subscribe(GPS, stage="geocoding")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        pass


class LegacyReader(Component):
    name = "legacy"

    @subscribe("device.gps.legacy", stage="geocoding")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        pass


class NoErrorTopic(Component):
    name = "noerrors"

    @subscribe(GPS, stage="unlisted")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        pass


class GenericReader(Component):
    """Reads places through the Envelope base class, which every model extends."""

    name = "generic"

    @subscribe(PLACE, stage="recording")
    async def on_any(self, message: Envelope, context: Context) -> None:
        pass


class Untyped(Component):
    name = "untyped"

    @subscribe(PLACE, stage="recording")
    async def on_any(self, message: object, context: Context) -> None:
        pass


def lint(*components: Component, inputs: tuple[str, ...] = ()) -> list[str]:
    topology = Topology.from_components(components, build_catalog(), inputs=inputs)
    return list(topology.lint().errors)


def test_lint_orphan_topic_is_error() -> None:
    errors = lint(PlaceRecorder())

    assert len(errors) == 1
    assert repr(PLACE) in errors[0]
    assert "'recorder'" in errors[0]
    assert "no component publishes it" in errors[0]


def test_lint_orphan_raises_topology_error() -> None:
    topology = Topology.from_components([PlaceRecorder()], build_catalog())

    with pytest.raises(TopologyError) as caught:
        topology.lint().raise_for_errors()

    assert PLACE in str(caught.value)
    assert caught.value.problems == topology.lint().errors


def test_lint_input_topic_is_not_orphan() -> None:
    assert lint(Geocoder(), PlaceRecorder(), inputs=(GPS,)) == []


def test_lint_unknown_topic_suggests_name() -> None:
    errors = lint(Misspelled())

    assert len(errors) == 1
    assert "'device.sensor.gsp.raw'" in errors[0]
    assert f"did you mean {GPS!r}" in errors[0]
    assert "'misspelled'" in errors[0]


def test_lint_unknown_publication_is_error() -> None:
    class Typo(Component):
        name = "typo"
        publishes = ("location.adress.geocoded",)

    errors = lint(Typo())

    assert len(errors) == 1
    assert "'location.adress.geocoded'" in errors[0]
    assert f"did you mean {PLACE!r}" in errors[0]


def test_lint_model_mismatch_names_both() -> None:
    errors = lint(WrongModel(), inputs=(GPS,))

    assert len(errors) == 1
    assert "Note" in errors[0]
    assert "GpsFix" in errors[0]
    assert "WrongModel.on_fix" in errors[0]


def test_lint_non_model_annotation_is_error() -> None:
    errors = lint(Untyped(), Geocoder(), inputs=(GPS,))

    assert len(errors) == 1
    assert "Untyped.on_any" in errors[0]
    assert "not an Envelope model" in errors[0]


def test_lint_accepts_base_model_annotation() -> None:
    assert lint(GenericReader(), Geocoder(), inputs=(GPS,)) == []


def test_lint_unused_topic_is_warning(caplog: pytest.LogCaptureFixture) -> None:
    topology = Topology.from_components([Wasteful()], build_catalog(), inputs=(GPS,))

    with caplog.at_level(logging.WARNING, logger="loomlite.runtime.topology"):
        report = topology.lint()
        topology.lint()

    assert report.ok
    assert len(report.warnings) == 1
    assert repr(UNUSED) in report.warnings[0]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert UNUSED in warnings[0].getMessage()


def test_lint_error_topics_never_warn(caplog: pytest.LogCaptureFixture) -> None:
    topology = Topology.from_components(
        [Geocoder(), PlaceRecorder()], build_catalog(), inputs=(GPS,)
    )

    with caplog.at_level(logging.WARNING, logger="loomlite.runtime.topology"):
        report = topology.lint()

    assert report.warnings == ()
    assert caplog.records == []


def test_lint_stored_topic_does_not_warn() -> None:
    topology = Topology.from_components([Geocoder()], build_catalog(), inputs=(GPS,))

    assert topology.lint().warnings == ()


def test_lint_missing_error_topic_is_error() -> None:
    errors = lint(NoErrorTopic(), inputs=(GPS,))

    assert len(errors) == 1
    assert "'processing.errors.unlisted'" in errors[0]
    assert "'unlisted'" in errors[0]
    assert "'noerrors'" in errors[0]


def test_lint_duplicate_names_are_error() -> None:
    errors = lint(Geocoder(), Geocoder(), inputs=(GPS,))

    assert any("component name 'enrich'" in error for error in errors)
    assert any("consumer group 'enrich.geocoding'" in error for error in errors)


def test_lint_invalid_component_name_is_error() -> None:
    class Nameless(Component):
        pass

    errors = lint(Nameless())

    assert len(errors) == 1
    assert "Nameless" in errors[0]
    assert "invalid name ''" in errors[0]


def test_alias_resolves_to_canonical_topic() -> None:
    topology = Topology.from_components(
        [LegacyReader()], build_catalog(), inputs=(GPS,)
    )

    assert topology.lint().errors == ()
    assert [route.topic for route in topology.routes] == [GPS]


def test_batch_handler_model_is_item_type() -> None:
    topology = Topology.from_components(
        [WordCounter()], build_catalog(), inputs=(NOTE,)
    )

    assert topology.lint().errors == ()
    assert topology.routes[0].model is Note


def test_routes_default_group_and_error_topic() -> None:
    topology = Topology.from_components([Geocoder()], build_catalog(), inputs=(GPS,))

    route = topology.routes[0]
    assert route.group == "enrich.geocoding"
    assert route.error_topic == "processing.errors.geocoding"
    assert route.model is GpsFix


def test_edges_cover_components_topics_tables() -> None:
    topology = Topology.from_components(
        [Geocoder(), PlaceRecorder()], build_catalog(), inputs=(GPS,)
    )
    gps = Node(NodeKind.TOPIC, GPS)
    place = Node(NodeKind.TOPIC, PLACE)
    enrich = Node(NodeKind.COMPONENT, "enrich")
    recorder = Node(NodeKind.COMPONENT, "recorder")

    edges = set(topology.edges())

    expected = {
        Edge(Node(NodeKind.EXTERNAL, "external"), gps, EdgeKind.PUBLISHES),
        Edge(enrich, place, EdgeKind.PUBLISHES),
        Edge(gps, enrich, EdgeKind.CONSUMES, "geocoding", "enrich.geocoding"),
        Edge(
            enrich,
            Node(NodeKind.TOPIC, "processing.errors.geocoding"),
            EdgeKind.ERRORS,
            "geocoding",
            "enrich.geocoding",
        ),
        Edge(place, recorder, EdgeKind.CONSUMES, "recording", "recorder.recording"),
        Edge(
            recorder,
            Node(NodeKind.TOPIC, "processing.errors.recording"),
            EdgeKind.ERRORS,
            "recording",
            "recorder.recording",
        ),
        Edge(gps, Node(NodeKind.TABLE, "gps_fixes"), EdgeKind.STORES),
        Edge(place, Node(NodeKind.TABLE, "places"), EdgeKind.STORES),
    }
    assert edges == expected
    assert len(topology.edges()) == len(expected)


def test_subscribe_rejects_bad_stage() -> None:
    with pytest.raises(ComponentError, match="invalid stage 'Geo Coding'"):
        subscribe(GPS, stage="Geo Coding")


def test_subscribe_rejects_sync_handler() -> None:
    with pytest.raises(ComponentError, match="must be an 'async def' method"):

        class Sync(Component):
            name = "sync"

            @subscribe(GPS, stage="geocoding")  # type: ignore[type-var]
            def on_fix(self, message: GpsFix, context: Context) -> None:
                pass


def test_publishes_string_is_rejected() -> None:
    with pytest.raises(ComponentError, match="must be a tuple of topic names"):

        class Single(Component):
            name = "single"
            publishes = PLACE  # type: ignore[assignment]


def test_subclass_inherits_subscriptions() -> None:
    class NorthGeocoder(Geocoder):
        name = "north"

    assert [s.handler for s in NorthGeocoder.subscriptions] == ["on_fix"]
    assert Place in {spec.model for spec in build_catalog() if spec.name == PLACE}


def test_runtime_package_exports_all() -> None:
    import loomlite.runtime

    for name in loomlite.runtime.__all__:
        assert hasattr(loomlite.runtime, name), name
    assert sorted(loomlite.runtime.__all__) == loomlite.runtime.__all__
