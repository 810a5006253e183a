"""Registers one deliberately wrong spec, for the command-line tests (``--module``)."""

from harness import register

from wrong_specs import WRONG

register(WRONG["sigmoid-derivative-is-A"].spec)
