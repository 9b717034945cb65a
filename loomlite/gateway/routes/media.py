"""Endpoints that respond with 200 in production: images, video, notes and
documents, single and batch.

A single upload responds with ``{"status", "message_id", "topic", "timestamp",
"trace_id", "services_encountered"}``. Production sent a naive receive time
and a null trace id here; loomlite sends the receive time in UTC with ``Z``
and the request's trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from loomlite.contract.catalog import Catalog
from loomlite.errors import FieldError, MessageValidationError
from loomlite.gateway.body import read_json_object
from loomlite.gateway.limits import (
    MAX_DOCUMENT_BATCH,
    MAX_DOCUMENT_BATCH_BYTES,
    MAX_IMAGE_BATCH,
    MAX_NOTE_BATCH,
)
from loomlite.gateway.routes.batch import Batch, run_batch
from loomlite.gateway.routes.common import Handler, add_post, trace_fields
from loomlite.gateway.schemas import SchemaRegistry
from loomlite.gateway.state import gateway_state, iso
from loomlite.gateway.tracing import request_trace

__all__ = ["UPLOADS", "Upload", "add_media_routes"]

CAMERA = "device.image.camera.raw"
SCREENSHOT = "device.image.screenshot.raw"
NOTES = "digital.notes.raw"
DOCUMENTS = "task.document.ingest"

Prepare = Callable[[dict[str, Any]], dict[str, Any]]


def _unchanged(payload: dict[str, Any]) -> dict[str, Any]:
    return payload


def _as_screenshot(payload: dict[str, Any]) -> dict[str, Any]:
    # Production forced the camera type of a screenshot to 'screen'.
    return {**payload, "camera_type": "screen"}


@dataclass(frozen=True, slots=True)
class Upload:
    path: str
    topic: str
    tag: str
    prepare: Prepare = _unchanged


UPLOADS: tuple[Upload, ...] = (
    Upload("/images/upload", CAMERA, "images"),
    Upload("/images/screenshot", SCREENSHOT, "images", _as_screenshot),
    Upload("/images/video", "device.video.screen.raw", "images"),
    # Production wrote /notes/upload to device.text.notes.raw and
    # /notes/digital to digital.notes.raw; the catalog makes them one topic.
    Upload("/notes/upload", NOTES, "notes"),
    Upload("/notes/digital", NOTES, "notes"),
    Upload("/documents/upload", DOCUMENTS, "documents"),
)


def _upload_handler(upload: Upload) -> Handler:
    async def post(request: Request) -> JSONResponse:
        state = gateway_state(request)
        trace = request_trace(request)
        received_at = state.clock.now()
        payload = upload.prepare(await read_json_object(request))
        accepted = await state.publisher.submit(
            upload.topic, payload, trace, received_at=received_at
        )
        content = {
            "status": "success",
            "message_id": accepted.message_id,
            "topic": accepted.topic,
            "timestamp": iso(received_at),
            **trace_fields(trace),
        }
        return JSONResponse(content, status_code=200)

    post.__name__ = "post_" + upload.path.strip("/").replace("/", "_")
    return post


def _image_topic(item: dict[str, Any]) -> str:
    return SCREENSHOT if item.get("camera_type") == "screen" else CAMERA


def _check_document_total(items: list[Any]) -> None:
    sizes = [item.get("file_size") for item in items if isinstance(item, dict)]
    total = sum(
        size for size in sizes if isinstance(size, int) and not isinstance(size, bool)
    )
    if total > MAX_DOCUMENT_BATCH_BYTES:
        raise MessageValidationError(
            DOCUMENTS,
            [
                FieldError(
                    "",
                    f"the file_size values add up to {total} bytes, more than "
                    f"the batch limit of {MAX_DOCUMENT_BATCH_BYTES}; split the "
                    "batch",
                )
            ],
        )


BATCHES: tuple[Batch, ...] = (
    Batch("/images/batch", "images", MAX_IMAGE_BATCH, topic=_image_topic),
    Batch("/notes/batch", "notes", MAX_NOTE_BATCH, topic=lambda item: NOTES),
    Batch(
        "/documents/batch",
        "documents",
        MAX_DOCUMENT_BATCH,
        topic=lambda item: DOCUMENTS,
        check=_check_document_total,
    ),
)


def _batch_handler(batch: Batch) -> Handler:
    async def post(request: Request) -> JSONResponse:
        state = gateway_state(request)
        trace = request_trace(request)
        received_at = state.clock.now()
        outcome = await run_batch(request, batch, state, trace, received_at)
        content = {
            "status": outcome.status,
            "message_id": None,
            "message_ids": outcome.message_ids,
            "topic": outcome.sole_topic,
            "topics": outcome.topics,
            "total": outcome.total,
            "processed": outcome.processed,
            "failed": outcome.failed,
            "errors": outcome.errors,
            "timestamp": iso(received_at),
            **trace_fields(trace),
        }
        return JSONResponse(content, status_code=200)

    post.__name__ = "post_" + batch.path.strip("/").replace("/", "_")
    return post


def add_media_routes(app: FastAPI, schemas: SchemaRegistry, catalog: Catalog) -> None:
    """Register the single and batch uploads."""
    for upload in UPLOADS:
        add_post(
            app,
            upload.path,
            _upload_handler(upload),
            body=schemas.message(catalog.get(upload.topic).model),
            status_code=200,
            summary=f"Publish one message to {upload.topic}",
            tag=upload.tag,
        )
    item_models = {
        "/images/batch": catalog.get(CAMERA).model,
        "/notes/batch": catalog.get(NOTES).model,
        "/documents/batch": catalog.get(DOCUMENTS).model,
    }
    for batch in BATCHES:
        body = schemas.array_of(
            schemas.message(item_models[batch.path]), max_items=batch.max_items
        )
        add_post(
            app,
            batch.path,
            _batch_handler(batch),
            body=body,
            status_code=200,
            summary=f"Publish up to {batch.max_items} messages",
            tag=batch.tag,
        )
