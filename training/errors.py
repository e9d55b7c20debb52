"""The training package's one error type: anything the user can fix, said in one line.

The command line catches ``TrainingError`` once and prints ``error: <message>``; everything
else is a bug and keeps its traceback.
"""


class TrainingError(Exception):
    """A problem the user can fix (data, weights, files, settings); the message says how."""
