"""Fixtures of the tagging tests (defined in tagdata.py, which the tests import by that
unique name: two folders' conftest modules clash when imported as "conftest")."""
from tagdata import *  # noqa: F401,F403
