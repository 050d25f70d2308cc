"""One run from a configuration: settings, cross-validation, the run directory, reading runs back, applying them."""
