"""What live components report about a session (seed ``002_*``, issue 14).

Seed ``002_*`` names three kinds of update from the real-time parts of an interview:
audio stream metadata (connection state, chunks, bytes, durations, latency figures),
context injections (what was put into the AI's context, why, by which component) and
tool executions (tool, arguments, result, duration, status, error). Each is a pydantic
model here, validated once when it is recorded, and stored as one event in the
session's ordinary log; components may also record events of their own type.

Pure: no I/O and no clock (the caller stamps ``at``).
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Callable
from datetime import datetime
from enum import Enum, StrEnum
from typing import (
    Annotated,
    Any,
    NamedTuple,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
)

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, with_config
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from typing_extensions import TypedDict  # pydantic needs it, not typing's, before 3.12

from rehearse.domain.events import EventType
from rehearse.errors import ConfigurationError

#: Event names a component may use for its own updates: lower-case words joined by
#: ``_`` (the events table holds 40 characters); the built-in names are reserved.
CUSTOM_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class AudioStreamState(StrEnum):
    """The connection state of a live audio stream."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"
    FINALIZED = "finalized"


class ToolStatus(StrEnum):
    """How a tool execution ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


class _Update(BaseModel):
    # NaN and infinity are not JSON (RFC 8259 section 6): PostgreSQL's json type refuses
    # them, so one such number would make its whole batch fail on every retry
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    #: a unique id of the update (generated when absent): a batch retried after an
    #: unclear failure (the commit may have landed) is stored once per id.
    event_id: str | None = Field(default=None, min_length=1, max_length=64)


class AudioMetadata(_Update):
    """Audio stream metadata, never the audio itself (seed ``002_*``).

    Attributes:
        stream_id: the stream within the session (one per microphone or connection).
        state: its connection state.
        chunks: audio chunks received since the previous report.
        bytes: bytes of audio received since the previous report.
        duration_seconds: seconds of audio those chunks hold.
        sample_rate_hz: sample rate, Hz.
        latency_ms_p50, latency_ms_p99, latency_ms_max: round-trip latency statistics of
            the stream, milliseconds.
    """

    stream_id: str = Field(default="main", min_length=1, max_length=64)
    state: AudioStreamState = AudioStreamState.STREAMING
    chunks: int = Field(default=0, ge=0)
    bytes: int = Field(default=0, ge=0)
    duration_seconds: float = Field(default=0.0, ge=0)
    sample_rate_hz: int | None = Field(default=None, gt=0, le=384_000)
    latency_ms_p50: float | None = Field(default=None, ge=0)
    latency_ms_p99: float | None = Field(default=None, ge=0)
    latency_ms_max: float | None = Field(default=None, ge=0)


class ContextInjection(_Update):
    """Something put into the AI's context during the interview (seed ``002_*``).

    Attributes:
        component: which part injected it (``"context_injection_service"``).
        reason: why (``"candidate asked for a hint"``).
        content: what was injected (text, at most 20,000 characters).
        injected_at: when it entered the context, if not when it was recorded.
        tokens: its size in tokens, when known.
    """

    component: str = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=1000)
    content: str = Field(max_length=20_000)
    injected_at: datetime | None = None
    tokens: int | None = Field(default=None, ge=0)


class ToolExecution(_Update):
    """One tool call an agent made (seed ``002_*``: LangGraph tool results).

    Attributes:
        tool: the tool's name.
        arguments: its arguments (JSON).
        result: what it returned (JSON), if anything.
        duration_ms: how long it ran, milliseconds.
        status: how it ended.
        error: the error text, when it failed.
    """

    tool: str = Field(min_length=1, max_length=100)
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    duration_ms: float = Field(default=0.0, ge=0)
    status: ToolStatus = ToolStatus.SUCCEEDED
    error: str | None = Field(default=None, max_length=5000)


#: The model of each built-in realtime event type.
MODELS: dict[str, type[_Update]] = {
    EventType.AUDIO_METADATA.value: AudioMetadata,
    EventType.CONTEXT_INJECTION.value: ContextInjection,
    EventType.TOOL_EXECUTION.value: ToolExecution,
}

#: Names components may not record themselves: every built-in event but the three above.
RESERVED_TYPES = frozenset(t.value for t in EventType) - set(MODELS)


class PendingEvent(NamedTuple):
    """An event waiting to be appended to a session's log by the batch writer.

    A named tuple, immutable like a frozen dataclass and made in a fifth of its time
    (one is made per realtime update, on the caller's path).

    Attributes:
        session_id: the session whose log it joins.
        type: the event name.
        at: when it happened (UTC).
        actor: who reported it (principal id, ``"local"``, ``"system"``).
        data: JSON details, already validated.
        encoded: ``data`` as the JSON text to store, when already made (by
            :func:`encode`); ``None``: the writer encodes it.
    """

    session_id: str
    type: str
    at: datetime
    actor: str
    data: dict[str, Any]
    encoded: str | None = None


def validate_update(kind: str, data: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """The JSON data of a realtime update of ``kind``, validated.

    Built-in kinds (``audio_metadata``, ``context_injection``, ``tool_execution``) are
    checked against their model; a custom kind needs a name matching
    :data:`CUSTOM_TYPE` that is not a built-in event, and JSON-ready data.

    Raises:
        ConfigurationError: an unknown or reserved type, or invalid data; ``errors``
            name each field (``type`` or ``data.<field>``), its value and what is allowed.
    """
    model = MODELS.get(kind)
    if model is None:
        _check_custom_type(kind)
        if isinstance(data, BaseModel):
            return data.model_dump(mode="json", exclude_none=True)
        if not isinstance(data, dict):
            raise _error("data", data, "a JSON object")
        event_id = data.get("event_id")
        if event_id is not None and not (isinstance(event_id, str) and 0 < len(event_id) <= 64):
            raise _error("data.event_id", event_id, "a string of 1-64 characters")
        return dict(data)  # a copy: the caller's dict is theirs to change
    if type(data) is dict:  # the common case: a component's plain dict
        quick = _DICT_VALIDATORS.get(kind)
        if quick is not None:
            try:
                checked: dict[str, Any] = quick(data)
            except ValidationError as exc:
                raise _invalid(kind, exc) from None
            if None in checked.values():  # given as null: left out, as exclude_none does
                return {key: value for key, value in checked.items() if value is not None}
            return checked
    return validate_with_model(kind, data)


def validate_with_model(kind: str, data: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """:func:`validate_update` of a built-in ``kind`` through its model, always.

    What :func:`validate_update` answers for every input; for a plain ``dict`` of a kind
    whose fields are all scalars it answers the same without building the model (see
    :func:`dict_validator`; ``test_realtime.py`` checks the two agree).

    Raises:
        KeyError: ``kind`` is not built in.
        ConfigurationError: invalid data, as :func:`validate_update`.
    """
    model = MODELS[kind]
    if isinstance(data, model):
        return data.model_dump(mode="json", exclude_none=True)
    if isinstance(data, BaseModel):
        data = data.model_dump()
    try:
        update = model.__pydantic_validator__.validate_python(data)
    except ValidationError as exc:
        raise _invalid(kind, exc) from None
    dumped: dict[str, Any] = model.__pydantic_serializer__.to_python(
        update, mode="json", exclude_none=True
    )
    return dumped


def _invalid(kind: str, exc: ValidationError) -> ConfigurationError:
    fields = [_field_error(item) for item in exc.errors()]
    message = "; ".join(f"{f['field']}={f['value']!r}: {f['message']}" for f in fields)
    return ConfigurationError(f"invalid {kind}: {message}", fields)


#: field types whose validated value is already its JSON value (a ``StrEnum`` with
#: ``use_enum_values``): a dict of only these needs no JSON-mode dump after validation
_SCALARS = (str, int, float, bool)


def _scalar(annotation: Any) -> bool:
    options = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else ()
    return all(
        option is type(None)
        or (isinstance(option, type) and (option in _SCALARS or issubclass(option, StrEnum)))
        for option in options or (annotation,)
    )


def dict_validator(model: type[BaseModel]) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """A validator of plain dicts for ``model`` that skips its JSON-mode dump, if one applies.

    One is made only for a model whose every field is a scalar (``str``, ``int``,
    ``float``, ``bool``, a ``StrEnum``, optionally ``None``) and which declares no
    validators or serializers of its own: pydantic validates a ``TypedDict`` with the
    model's very fields (types, constraints, defaults) and configuration, enums kept
    as their values and ``None`` defaults left out. Its result is the model's
    ``model_dump(mode="json", exclude_none=True)`` but for values given as ``None``,
    which the caller drops (:func:`validate_update`); one pass instead of two. ``None``
    when no such validator applies (a datetime or any JSON needs the JSON-mode dump).

    The returned callable raises :class:`pydantic.ValidationError` as the model would.
    """
    decorators = model.__pydantic_decorators__
    own_checks = (
        decorators.validators,
        decorators.field_validators,
        decorators.root_validators,
        decorators.model_validators,
        decorators.field_serializers,
        decorators.model_serializers,
        decorators.computed_fields,
    )
    infos = model.model_fields.values()
    renamed = any(i.alias or i.validation_alias for i in infos)
    if any(own_checks) or renamed or not all(_scalar(i.annotation) for i in infos):
        return None
    fields = {name: _typed_dict_field(info) for name, info in model.model_fields.items()}
    config = ConfigDict(model.model_config)  # type: ignore[misc]
    if config.get("alias_generator"):
        return None
    config.pop("frozen", None)
    config["use_enum_values"] = True
    shape = with_config(config)(TypedDict(f"{model.__name__}Data", fields))  # type: ignore[operator]
    # the core validator itself: TypeAdapter.validate_python's own wrapper costs a third
    validate: Callable[[dict[str, Any]], dict[str, Any]] = TypeAdapter(
        shape
    ).validator.validate_python
    return validate


def _typed_dict_field(info: FieldInfo) -> Any:
    """The ``TypedDict`` entry of a model field.

    Its type and constraints, and the default its JSON dump holds: an enum's value
    (defaults are not validated); none for ``None`` (``exclude_none`` leaves it out).
    """
    default: list[Any] = []
    if info.default_factory is not None:
        default = [Field(default_factory=info.default_factory)]
    elif info.default is not PydanticUndefined and info.default is not None:
        value = info.default.value if isinstance(info.default, Enum) else info.default
        default = [Field(default=value)]
    presence = Required if info.is_required() else NotRequired
    return presence[Annotated[(info.annotation, *info.metadata, *default)]]


_DICT_VALIDATORS = {
    kind: check for kind, model in MODELS.items() if (check := dict_validator(model)) is not None
}


#: the built-in kinds whose validated data can hold only strings, finite numbers,
#: booleans and null (``tool_execution``'s ``arguments`` and ``result`` hold any JSON)
PLAIN_KINDS = frozenset({EventType.AUDIO_METADATA.value, EventType.CONTEXT_INJECTION.value})


def encode(data: dict[str, Any], *, plain: bool = False) -> str:
    """The JSON text of ``data`` as the events table stores it.

    Done when an update is recorded, so data that cannot be stored is refused to its
    caller instead of failing the batch it would join on every retry. ``plain``: the
    data came from a model of :data:`PLAIN_KINDS` (its numbers are known finite), so
    the quicker encoder of pydantic-core serves (a third of :func:`json.dumps`' time).

    Raises:
        ConfigurationError: ``data`` holds a value JSON cannot (a ``datetime``, a set,
            an object), a non-finite number, a key that is not a string, or (``plain``)
            a string that is not Unicode text (a lone surrogate).
    """
    try:
        if plain:
            return pydantic_core.to_json(data).decode()
        return json.dumps(data, allow_nan=False)
    except (TypeError, ValueError, pydantic_core.PydanticSerializationError) as exc:
        allowed = f"JSON: strings, finite numbers, booleans, null, lists, objects ({exc})"
        raise _error("data", None, allowed) from None


def _field_error(item: Any) -> dict[str, Any]:
    field = ".".join(str(part) for part in item["loc"])
    value = item.get("input")
    shown = value if isinstance(value, str | int | float | bool | None) else None
    return {"field": f"data.{field}" if field else "data", "value": shown, "message": item["msg"]}


def _check_custom_type(kind: str) -> None:
    if not isinstance(kind, str) or not CUSTOM_TYPE.match(kind):
        raise _error(
            "type",
            kind,
            "audio_metadata, context_injection, tool_execution or a name of "
            "lower-case letters, digits and _ (at most 40 characters)",
        )
    if kind in RESERVED_TYPES:
        raise _error("type", kind, "a name that is not one of rehearse's own events")


def _error(field: str, value: Any, allowed: str) -> ConfigurationError:
    shown = value if isinstance(value, str | int | float | bool | None) else None
    return ConfigurationError(
        f"{field}={shown!r}: not allowed (allowed: {allowed})",
        [{"field": field, "value": shown, "message": f"allowed: {allowed}"}],
    )
