"""WhatsApp's and Titan's limits (titan-api.md), which the config, the planner and the simulator
all keep."""

from __future__ import annotations

import re

SESSION_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}")  # a Titan session's name
MAX_PARTICIPANTS_PER_CALL = 256
MAX_GROUP_SIZE = 1024
MAX_SUBJECT_LENGTH = 25
MAX_DESCRIPTION_LENGTH = 2048
