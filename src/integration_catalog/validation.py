"""Validate a loaded YAML document against a pydantic model, turning every error into a
`Diagnostic` at the line and column of the offending key or value."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .diagnostics import Diagnostic, Severity, did_you_mean
from .yamlload import LoadedYaml, YamlPath

ModelT = TypeVar("ModelT", bound=BaseModel)

_TYPE_NAMES = {
    "string": "a string",
    "bool": "a boolean (true or false)",
    "int": "a whole number",
    "float": "a number",
    "dict": "a mapping",
    "list": "a list",
    "model": "a mapping",
    "model_attributes": "a mapping",
}


def validate_document(
    model: type[ModelT], doc: LoadedYaml, path: str
) -> tuple[ModelT | None, list[Diagnostic]]:
    try:
        return model.model_validate(doc.value), []
    except ValidationError as error:
        found = [_diagnostic(model, doc, path, detail) for detail in error.errors()]
        return None, [d for d in found if d is not None]


def describe(path: YamlPath) -> str:
    """`manifest.members[0].kind` for ('manifest', 'members', 0, 'kind')."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the document"


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "a mapping"


def _diagnostic(
    model: type[BaseModel], doc: LoadedYaml, path: str, detail: ErrorDetails
) -> Diagnostic | None:
    yaml_path, owner = _locate(model, doc.value, detail["loc"])
    if doc.was_reported(yaml_path):
        return None
    kind = detail["type"]
    field = describe(yaml_path)
    value = detail.get("input")
    ctx = detail.get("ctx", {})
    hint: str | None = None
    of_key = False
    if kind == "missing":
        code, message = "field-missing", f"missing required field `{field}`"
    elif kind == "extra_forbidden":
        code, of_key = "field-unknown", True
        name = str(yaml_path[-1])
        message = f"unknown field `{field}`"
        known = list(owner.model_fields) if owner else []
        hint = did_you_mean(name, known) or (f"known fields: {', '.join(known)}" if known else None)
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = ctx.get("expected_tags") or _union_tags(owner, yaml_path[-1] if yaml_path else "")
        yaml_path = (*yaml_path, "type")
        code = "field-invalid" if kind == "union_tag_invalid" else "field-missing"
        shown = describe(yaml_path)
        message = (
            f"`{shown}` must be one of {tags}"
            if kind == "union_tag_invalid"
            else f"missing required field `{shown}`"
        )
        hint = f"use one of {tags}" if tags else None
    elif kind == "literal_error":
        code = "field-invalid"
        expected = ctx.get("expected", "")
        text = doc.plain_text(yaml_path) or value  # `null` as written, not Python's None
        got = f"`{text}`" if isinstance(text, str) else kind_of(value)
        message = f"`{field}` must be {expected}, not {got}"
        choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else None
    elif kind.endswith("_type") and kind.removesuffix("_type") in _TYPE_NAMES:
        code = "field-type"
        wanted = _TYPE_NAMES[kind.removesuffix("_type")]
        message = f"`{field}` must be {wanted}, not {kind_of(value)}"
        # a number or boolean that was meant as text; a null is a value left out, not text
        text = doc.plain_text(yaml_path) if kind == "string_type" and value is not None else None
        hint = f'quote it: "{text}"' if text else None
    else:
        code = "field-invalid"
        message = f"`{field}`: {detail['msg'].removeprefix('Value error, ')}"
    at = doc.position(yaml_path, of_key=of_key)
    return Diagnostic(path, at.line, at.column, Severity.ERROR, code, message, hint)


def _union_tags(owner: type[BaseModel] | None, name: str | int) -> str:
    """`'oauth2', 'api_key', 'none'` for a tagged union field (pydantic names the tags only
    when the tag is wrong, not when it is missing)."""
    field = owner.model_fields.get(str(name)) if owner is not None else None
    models = _models_in(field.annotation) if field is not None else iter(())
    tags = [
        t
        for m in models
        if "type" in m.model_fields
        for t in get_args(m.model_fields["type"].annotation)
    ]
    return ", ".join(f"'{tag}'" for tag in tags)


def _locate(
    model: type[BaseModel], data: Any, loc: tuple[int | str, ...]
) -> tuple[YamlPath, type[BaseModel] | None]:
    """The YAML path of a pydantic error location (discriminator tags dropped) and the model
    that owns its last part."""
    yaml_path: list[str | int] = []
    owner: type[BaseModel] | None = model
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        present = (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and part < len(data)
        )
        if not present and not last:
            continue  # a tagged union's tag, which is not in the document
        yaml_path.append(part)
        if last:
            break
        data = data[part]
        owner = _child_model(owner, part, data)
    return tuple(yaml_path), owner


def _child_model(
    owner: type[BaseModel] | None, part: int | str, data: Any
) -> type[BaseModel] | None:
    if owner is None:
        return None
    field = owner.model_fields.get(str(part))
    if field is None:
        return owner if isinstance(part, int) else None
    candidates = list(_models_in(field.annotation))
    if isinstance(data, dict) and len(candidates) > 1:
        tagged = [
            c
            for c in candidates
            if "type" in c.model_fields
            and data.get("type") in get_args(c.model_fields["type"].annotation)
        ]
        return tagged[0] if tagged else None
    return candidates[0] if candidates else None


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    origin = get_origin(annotation)
    if origin is dict:
        return  # a free-form mapping's keys are not fields
    if origin in (list, Union, types.UnionType) or origin is not None:
        for arg in get_args(annotation):
            yield from _models_in(arg)
