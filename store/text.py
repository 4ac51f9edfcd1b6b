"""Which characters a stored text may hold.

A line break, tab or NUL inside an id or a purpose breaks the CSV a bank exports, the log line an
operator reads, and PostgreSQL (which cannot store NUL): they are refused wherever text enters,
with one definition, here.
"""

from __future__ import annotations

import re

# C0 controls and DEL.
CONTROL_PATTERN = r"[\x00-\x1f\x7f]"
_CONTROL = re.compile(CONTROL_PATTERN)
CONTROL_MESSAGE = "contains control characters (line breaks, tabs, NUL)"


def has_control(text: str) -> bool:
    """Does `text` contain a control character?"""
    return _CONTROL.search(text) is not None
