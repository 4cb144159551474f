"""The one exception type users see.

Every mistake a user can make (a bad override, an unknown language, a damaged store) is raised as a
`PlugmtError` whose message is one line saying what was wrong and how to fix it. The command-line
entry points print that line and exit non-zero instead of showing a traceback.
"""


class PlugmtError(Exception):
    """A user-facing error; its message is a complete, one-line explanation."""
