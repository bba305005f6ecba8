"""The version of Velocity (its own module, so every other module can read it)."""

__version__ = "0.1.0"
