"""TwinFlow Studio: a desktop studio for living digital twins."""

__version__ = "0.1.0"
