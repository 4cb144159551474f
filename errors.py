"""The one exception type users see.

Every mistake a user can make (a bad override, an unknown language, a damaged store) is raised as a
`PlugmtError` whose message is one line saying what was wrong and how to fix it. The command-line
entry points print that line and exit non-zero instead of showing a traceback.
"""

import sys
from typing import NoReturn


class PlugmtError(Exception):
    """A user-facing error; its message is a complete, one-line explanation."""


def one_line(message: object) -> str:
    """A message's lines joined: what a user sees of an error is always exactly one line."""
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


def exit_with_error(message: object) -> NoReturn:
    """Every console script's way out for a user error: one `plugmt: error:` line, status 2."""
    print(f"plugmt: error: {one_line(message)}", file=sys.stderr)
    sys.exit(2)
