"""OpenAPI request body schemas built from the catalog's topic models.

Endpoints read their bodies themselves, so that production's field aliases
and nested shapes reach the normaliser. Their documented body is the topic
model's canonical shape as a client sends it: without ``received_at``, which
the gateway sets, and with production's UUID rule on ``device_id``.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from loomlite.contract.envelope import Envelope
from loomlite.gateway.publisher import DEVICE_ID_PATTERN

__all__ = ["SchemaRegistry"]

_REF_TEMPLATE = "#/components/schemas/{model}"
_SERVER_FIELDS = ("received_at",)


class SchemaRegistry:
    """Collects the body schemas of the routes and their shared definitions."""

    def __init__(self) -> None:
        self.definitions: dict[str, Any] = {}

    def _schema(self, model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=_REF_TEMPLATE)
        for name, definition in schema.pop("$defs", {}).items():
            self.definitions.setdefault(name, definition)
        return schema

    def message(
        self, model: type[Envelope], *, without: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Return the JSON schema of a message body of ``model``."""
        schema = copy.deepcopy(self._schema(model))
        properties: dict[str, Any] = schema.get("properties", {})
        for name in (*_SERVER_FIELDS, *without):
            properties.pop(name, None)
        if "device_id" in properties and "device_id" not in without:
            properties["device_id"] = {
                **properties["device_id"],
                "pattern": DEVICE_ID_PATTERN.pattern.replace("0-9a-f", "0-9a-fA-F"),
            }
        required = [name for name in schema.get("required", []) if name in properties]
        schema["required"] = required
        return schema

    def array_of(
        self, item: dict[str, Any], *, min_items: int = 1, max_items: int | None
    ) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": item, "minItems": min_items}
        if max_items is not None:
            schema["maxItems"] = max_items
        return schema

    def model(self, model: type[BaseModel]) -> dict[str, Any]:
        """Return the schema of a plain model, such as the unified message."""
        return self._schema(model)

    @staticmethod
    def request_body(schema: dict[str, Any]) -> dict[str, Any]:
        """Return the ``openapi_extra`` that documents ``schema`` as the body."""
        return {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            }
        }
