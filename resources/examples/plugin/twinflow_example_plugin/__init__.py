"""An example TwinFlow Studio plugin: one node kind, ``rolling_mean`` (see docs/plugins.md)."""
