"""The ``@subscribe`` decorator and the subscriptions it declares."""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from loomlite.broker.base import OffsetReset
from loomlite.contract.envelope import Envelope
from loomlite.errors import ComponentError

__all__ = ["Subscription", "declared_subscriptions", "handler_model", "subscribe"]

# Stages name error topics (processing.errors.<stage>) and consumer groups, so
# they are limited to characters that are safe in both.
_STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

_ATTRIBUTE = "__loomlite_subscriptions__"

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Subscription:
    """One handler's declared input.

    ``topic`` is the name as written in the declaration, which may be an
    alias; the topology resolves it to the canonical name. ``handler`` is the
    name of the component method that receives the messages.
    """

    topic: str
    stage: str
    handler: str
    group: str | None = None
    batch: bool = False
    offset_reset: OffsetReset = OffsetReset.EARLIEST

    def group_for(self, component: str) -> str:
        """Return the consumer group: the declared one or ``<component>.<stage>``."""
        return self.group or f"{component}.{self.stage}"


def subscribe(
    topic: str,
    *,
    stage: str,
    group: str | None = None,
    batch: bool = False,
    offset_reset: OffsetReset = OffsetReset.EARLIEST,
) -> Callable[[HandlerT], HandlerT]:
    """Mark a component method as the handler of ``topic``.

    The handler is ``async def handler(self, message: Model, context)``, or
    with ``batch=True`` receives ``messages: Sequence[Model]`` for each fetch.
    ``stage`` names the processing step: failures go to the error topic
    ``processing.errors.<stage>``, and the default consumer group is
    ``<component>.<stage>``. Stacking the decorator subscribes one handler to
    several topics.
    """
    if not _STAGE_PATTERN.match(stage):
        raise ComponentError(
            f"invalid stage {stage!r} for topic {topic!r}: use lower-case letters, "
            "digits and underscores, starting with a letter"
        )
    if group is not None and not group.strip():
        raise ComponentError(f"the group for topic {topic!r} must not be empty")

    def mark(function: HandlerT) -> HandlerT:
        if not inspect.iscoroutinefunction(function):
            raise ComponentError(
                f"handler {function.__qualname__} must be an 'async def' method"
            )
        subscription = Subscription(
            topic=topic,
            stage=stage,
            handler=function.__name__,
            group=group,
            batch=batch,
            offset_reset=offset_reset,
        )
        existing: tuple[Subscription, ...] = getattr(function, _ATTRIBUTE, ())
        setattr(function, _ATTRIBUTE, (subscription, *existing))
        return function

    return mark


def declared_subscriptions(cls: type) -> tuple[Subscription, ...]:
    """Collect the subscriptions of every handler of ``cls``, inherited ones too."""
    found: list[Subscription] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            found.extend(getattr(value, _ATTRIBUTE, ()))
    return tuple(found)


def handler_model(component: type, subscription: Subscription) -> type[Envelope]:
    """Return the message model that a handler's first parameter is annotated with.

    A batch handler's annotation is a sequence type, ``Sequence[Model]`` or
    ``list[Model]``, and the model is its item type. Raises ComponentError when
    the annotation is missing, cannot be resolved or is not an Envelope model.
    """
    function = getattr(component, subscription.handler)
    where = f"handler {component.__name__}.{subscription.handler}"
    parameters = list(inspect.signature(function).parameters.values())[1:]
    if len(parameters) != 2:
        raise ComponentError(
            f"{where} must take (self, message, context), "
            f"got {len(parameters) + 1} parameter(s)"
        )
    try:
        hints = typing.get_type_hints(function)
    except Exception as exc:  # NameError and TypeError from unresolvable hints
        raise ComponentError(
            f"cannot resolve the annotations of {where}: {exc}; define the model "
            "at module level or import it where the component is defined"
        ) from exc

    annotation = hints.get(parameters[0].name)
    if annotation is None:
        raise ComponentError(
            f"{where} has no annotation on {parameters[0].name!r}; annotate it "
            "with the topic's model"
        )
    if subscription.batch:
        annotation = _sequence_item(annotation, where)
    if not (isinstance(annotation, type) and issubclass(annotation, Envelope)):
        raise ComponentError(
            f"{where} is annotated with {annotation!r}, which is not an Envelope model"
        )
    return annotation


def _sequence_item(annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    is_sequence = isinstance(origin, type) and issubclass(origin, Sequence)
    if not is_sequence or len(arguments) != 1:
        raise ComponentError(
            f"{where} is a batch handler, so its message parameter must be "
            f"annotated Sequence[Model], got {annotation!r}"
        )
    return arguments[0]
