"""The errors a user can cause.

Each is caught once, in the CLI, and printed as one line on stderr with exit
code 2. Anything else escaping the pipeline is a bug in percediag.
"""


class PercediagError(Exception):
    """Base class: a problem with what the user gave us, not with percediag."""


class InputError(PercediagError):
    """The log cannot be read: missing, unreadable, binary, wrong encoding."""


class ConfigError(PercediagError):
    """A profile or configuration file is malformed or invalid."""


class UsageError(PercediagError):
    """The command line asks for something that does not exist."""
