"""argparse value types that read ASCII only: Python's ``int`` and ``float`` also read '٣',
' 3' and '3_000'. A ValueError makes argparse say "invalid int value: 'x'"."""

from __future__ import annotations

import argparse
import re


def integer(text: str) -> int:
    """An optionally signed integer in ASCII digits."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(text)
    return int(text)


integer.__name__ = "int"


def real(text: str) -> float:
    """A decimal number in ASCII (inf and nan are read, for the caller to refuse)."""
    if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|nan)", text.lower()):
        raise ValueError(text)
    return float(text)


real.__name__ = "float"


def seed(text: str) -> int:
    """A random data seed: an integer >= 0."""
    value = integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed {value} is negative: give an integer >= 0")
    return value


seed.__name__ = "int"
