"""Errors a user can cause: they end the command with one clear message, no traceback."""


class MrlearnError(Exception):
    """Bad input, a missing path or a wrong option; the message says what and how to fix."""
