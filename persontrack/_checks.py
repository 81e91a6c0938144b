"""Input checks shared across subpackages (images, numeric table columns)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InvalidParameterException


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
