"""The one exception hierarchy of the project; the CLI and the TUI translate it at the edge."""


class QAError(Exception):
    """Base class: a problem the user can act on, described in one line."""

    exit_code = 1


class UsageError(QAError):
    """The command was called wrongly (bad option value, empty question)."""

    exit_code = 2


class DocumentError(QAError):
    """A document cannot be read: missing, binary, undecodable, unreadable."""

    exit_code = 3


class IndexStoreError(QAError):
    """The index is missing, corrupt, or was built with another model or format."""

    exit_code = 4


class ModelError(QAError):
    """The embedding model cannot be built or loaded."""

    exit_code = 5
