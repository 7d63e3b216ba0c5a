"""oVirt MOM import path ``mom.LogUtils``. Implementation: :mod:`mom.log`."""

import logging
import logging.handlers

from mom.log import log_set_verbosity

__all__ = ["log_set_verbosity", "logging"]
