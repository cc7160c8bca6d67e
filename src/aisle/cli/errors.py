"""The CLI's own error: its message is the whole story for the user (no traceback)."""

from __future__ import annotations


class UserError(Exception):
    """An error whose message is the whole story for the user (bad input, missing files, a busy index)."""
