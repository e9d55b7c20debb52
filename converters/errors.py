"""The converters' one error type: anything the user can fix, said in one line."""


class ConversionError(Exception):
    """A problem the user can fix (a wheel that is not the pinned one, a conversion that does
    not reproduce its source); ``python -m converters`` prints it as ``error: <message>``."""
