"""Exceptions of the kiln package.

Every error the runtime reports is a `KilnError` whose subclass follows the
C API's `kiln_status` (include/kiln/Runtime/kiln_runtime.h) and whose
message is the runtime's `kiln_last_error()`. Errors the binding can see
before calling into C (wrong dtype, wrong rank, a missing or unknown input,
a missing directory) raise the same classes with a message written here.
Each class also derives from the closest built-in exception, so
`except ValueError` / `except TypeError` / `except OSError` work as well.

    KilnError
      InvalidArgument (ValueError)      KILN_ERROR_INVALID_ARGUMENT
        MissingInput                      an entry input was not given
        UnknownInput                      a keyword names no input of the entry
      NotFound (LookupError)            KILN_ERROR_NOT_FOUND
        ModelNotFound (FileNotFoundError) the directory / model.so is missing
        EntryNotFound (AttributeError)    no entry of that name
        RuntimeLibraryNotFound (ImportError) libkiln_runtime.so not found
        ToolNotFound                      kiln-compile not found
      IOFailure (OSError)               KILN_ERROR_IO
      CorruptModel                      KILN_ERROR_CORRUPT
      VersionMismatch                   KILN_ERROR_VERSION_MISMATCH
      ShapeMismatch (ValueError)        KILN_ERROR_SHAPE_MISMATCH
      DTypeMismatch (TypeError)         KILN_ERROR_DTYPE_MISMATCH
      OutOfMemory (MemoryError)         KILN_ERROR_OUT_OF_MEMORY
      ExecutionError (RuntimeError)     KILN_ERROR_EXECUTION
      CompileError (RuntimeError)       kiln-compile failed
      ExportError (ValueError)          kiln.export cannot write the folder
"""


class KilnError(Exception):
    """Base class. `status` is the kiln_status code (None for errors that do
    not come from the runtime), `message` the text without the class name."""

    status = None

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class InvalidArgument(KilnError, ValueError):
    status = 1


class MissingInput(InvalidArgument):
    pass


class UnknownInput(InvalidArgument):
    pass


class NotFound(KilnError, LookupError):
    status = 2


class ModelNotFound(NotFound, FileNotFoundError):
    pass


class EntryNotFound(NotFound, AttributeError):
    pass


class RuntimeLibraryNotFound(NotFound, ImportError):
    pass


class ToolNotFound(NotFound):
    pass


class IOFailure(KilnError, OSError):
    status = 3


class CorruptModel(KilnError):
    status = 4


class VersionMismatch(KilnError):
    status = 5


class ShapeMismatch(KilnError, ValueError):
    status = 6


class DTypeMismatch(KilnError, TypeError):
    status = 7


class OutOfMemory(KilnError, MemoryError):
    status = 8


class ExecutionError(KilnError, RuntimeError):
    status = 9


class CompileError(KilnError, RuntimeError):
    """kiln-compile exited non-zero. `returncode`, `command` (argv list) and
    `output` (everything it printed) are kept; the message is its
    diagnostics."""

    def __init__(self, message, command=None, returncode=None, output=""):
        super().__init__(message)
        self.command = command
        self.returncode = returncode
        self.output = output


class ExportError(KilnError, ValueError):
    pass


_BY_STATUS = {cls.status: cls for cls in (
    InvalidArgument, NotFound, IOFailure, CorruptModel, VersionMismatch,
    ShapeMismatch, DTypeMismatch, OutOfMemory, ExecutionError)}


def from_status(status, message):
    """The exception for a non-zero kiln_status and its message."""
    cls = _BY_STATUS.get(int(status), KilnError)
    return cls(message or f"kiln_status {int(status)}", int(status))
