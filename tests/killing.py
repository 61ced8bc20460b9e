"""Simulated crashes for the resume tests: ``Killed`` stands for the process dying."""
from __future__ import annotations


class Killed(Exception):
    """The process 'died' here."""


class KillAt(list):
    """One epoch's batches that 'kill the process' when batch ``at`` is reached."""

    def __init__(self, batches, at):
        super().__init__(batches)
        self.at = at

    def __getitem__(self, i):
        if i == self.at:
            raise Killed()
        return super().__getitem__(i)
