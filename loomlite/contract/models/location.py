"""Derived location data: places, georegion events and businesses."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import Confidence, SourceMessageId

__all__ = ["BusinessMatch", "GeocodedPlace", "GeoregionEvent"]


class GeocodedPlace(Envelope):
    """The place nearest to a GPS fix, from reverse geocoding."""

    source_message_id: SourceMessageId = Field(description="The GPS fix's id.")
    latitude: float = Field(ge=-90.0, le=90.0, description="Of the GPS fix.")
    longitude: float = Field(ge=-180.0, le=180.0, description="Of the GPS fix.")
    place_name: str = Field(description="e.g. the nearest town.")
    locality: str | None = Field(None, description="City or municipality.")
    region: str | None = Field(None, description="State or province.")
    country_code: str | None = Field(None, description="ISO 3166-1 alpha-2.")
    address: str | None = None
    distance_meters: float | None = Field(
        None, ge=0.0, description="From the fix to the place's reference point."
    )
    backend: str = Field(min_length=1)


class GeoregionEvent(Envelope):
    """The user entered or left a named region; ``recorded_at`` is the crossing."""

    source_message_id: SourceMessageId = Field(description="The GPS fix's id.")
    region_name: str = Field(min_length=1)
    event: Literal["enter", "exit"]
    latitude: float = Field(ge=-90.0, le=90.0, description="Of the GPS fix.")
    longitude: float = Field(ge=-180.0, le=180.0, description="Of the GPS fix.")
    distance_meters: float | None = Field(
        None, ge=0.0, description="From the fix to the region's centre."
    )


class BusinessMatch(Envelope):
    """A business or venue at a visited place."""

    source_message_id: SourceMessageId
    name: str
    category: str | None = None
    latitude: float = Field(ge=-90.0, le=90.0)
    longitude: float = Field(ge=-180.0, le=180.0)
    distance_meters: float | None = Field(None, ge=0.0)
    confidence: Confidence
    backend: str = Field(min_length=1)
