"""Input checks shared across subpackages (numbers, images, numeric table columns).

Examples
--------
>>> from persontrack._checks import in_range, is_number
>>> is_number(3), is_number(True), is_number(2.5, int), is_number("1")
(True, False, False, False)
>>> in_range(0.0, 0, 1, low_open=True), in_range(float("nan"), 0, 1), in_range(1, 0, 1)
(False, False, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InvalidParameterException

Types = type | tuple[type, ...]


def is_number(value: object, types: Types = (int, float)) -> bool:
    """Whether ``value`` is an instance of ``types`` (``int`` or ``float`` by default) and not
    a bool, which Python counts as an int (``numbers.Real`` or ``numbers.Integral`` widen the
    check to numpy scalars)."""
    return isinstance(value, types) and not isinstance(value, bool)


def in_range(
    value: object,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
    types: Types = (int, float),
) -> bool:
    """Whether ``value`` is a number (:func:`is_number`) between ``low`` and ``high``, each
    end included unless it is open (NaN is in no range)."""
    if not is_number(value, types):
        return False
    x: float = value  # type: ignore[assignment]
    above = x > low if low_open else x >= low
    below = x < high if high_open else x <= high
    return above and below


def check_rgb_image(image: object, *, min_side: int = 1) -> np.ndarray:
    """Return ``image`` if it is an (H, W, 3) uint8 array at least ``min_side`` pixels a side.

    Raises
    ------
    InvalidParameterException
        Naming what is wrong: type, dtype, shape or size.
    """
    if not isinstance(image, np.ndarray):
        raise InvalidParameterException(
            f"image must be a numpy array (H, W, 3) RGB uint8, got {type(image).__name__}"
        )
    if image.dtype != np.uint8:
        raise InvalidParameterException(f"image must have dtype uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidParameterException(f"image must have shape (H, W, 3), got {image.shape}")
    if image.shape[0] < min_side or image.shape[1] < min_side:
        raise InvalidParameterException(
            f"image is too small: {image.shape[1]}x{image.shape[0]} "
            f"(at least {min_side}x{min_side} pixels)"
        )
    return image


def numeric_column(series: pd.Series, name: str, where: str) -> np.ndarray:
    """Return a table column as finite float64 values, or say which column is not."""
    try:
        values = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as e:
        raise InvalidParameterException(f"{where}: column {name!r} must be numeric ({e})") from e
    if not np.all(np.isfinite(values)):
        raise InvalidParameterException(f"{where}: column {name!r} must be finite numbers")
    return values
