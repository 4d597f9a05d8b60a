"""Test-only stand-in for carb: logging goes to Python's logging (name "carb")."""

import logging

_log = logging.getLogger("carb")


def log_warn(msg):
    _log.warning(str(msg))


def log_error(msg):
    _log.error(str(msg))


def log_info(msg):
    _log.info(str(msg))
