"""Local development and `make demo`: DEBUG on unless the environment says otherwise."""

from duban.settings.base import *  # noqa: F403
from duban.settings.base import env, init_observability

DEBUG = env.bool("DEBUG", True)
init_observability("development")
