"""Fixtures of the serve tests (defined in servehelp.py, which the tests import by that
unique name: two folders' conftest modules clash when imported as "conftest")."""
from servehelp import *  # noqa: F401,F403
