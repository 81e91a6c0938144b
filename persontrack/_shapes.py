"""Checking values against shapes of botocore's ``rekognition`` service model."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ServiceModel, Shape

from ._checks import is_number


@cache
def service_model() -> ServiceModel:
    """Botocore's service model for ``rekognition`` (loaded once)."""
    return botocore.session.get_session().get_service_model("rekognition")


def output_shape(operation: str) -> Shape:
    """The output shape of a Rekognition operation."""
    shape = service_model().operation_model(operation).output_shape
    assert shape is not None
    return shape


def enum_values(shape_name: str) -> list[str]:
    """Allowed values of an enum shape, e.g. ``enum_values("LandmarkType")``."""
    return list(service_model().shape_for(shape_name).enum)


def shape_errors(
    value: Any, shape: Shape, path: str = "", *, allow_unknown: bool = True
) -> list[str]:
    """List every way ``value`` departs from ``shape`` (empty when it conforms).

    Unknown keys in structures are tolerated unless ``allow_unknown`` is False, as botocore's
    response parser ignores them (real Rekognition output carries fields the model lacks).
    """
    errors: list[str] = []
    where = path or "response"
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        members = shape.members
        for name in shape.required_members:
            if name not in value:
                errors.append(f"{where}: missing required {name}")
        for key, item in value.items():
            if key in members:
                errors += shape_errors(
                    item,
                    members[key],
                    f"{path}.{key}" if path else key,
                    allow_unknown=allow_unknown,
                )
            elif not allow_unknown:
                errors.append(f"{where}: unknown field {key!r}")
    elif t == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        for i, item in enumerate(value):
            errors += shape_errors(item, shape.member, f"{where}[{i}]", allow_unknown=allow_unknown)
    elif t == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {type(value).__name__}"]
        if shape.enum and value not in shape.enum:
            errors.append(f"{where}: {value!r} is not one of {list(shape.enum)}")
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        if lo is not None and len(value) < lo or hi is not None and len(value) > hi:
            errors.append(f"{where}: length {len(value)} outside [{lo}, {hi}]")
    elif t in ("integer", "long"):
        if not is_number(value, int):
            return [f"{where}: expected an integer, got {type(value).__name__}"]
        lo = shape.metadata.get("min")
        if lo is not None and value < lo:
            errors.append(f"{where}: {value} is below the minimum {lo}")
    elif t in ("float", "double"):
        if not is_number(value):
            return [f"{where}: expected a number, got {type(value).__name__}"]
        if not math.isfinite(value):
            errors.append(f"{where}: {value} is not finite")
    elif t == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{where}: expected true/false, got {type(value).__name__}")
    return errors
