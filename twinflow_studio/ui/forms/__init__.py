"""Editors for parameters whose value has a shape (priors, noise, triggers): small forms
instead of raw JSON, driven by the parameters' declarations."""
