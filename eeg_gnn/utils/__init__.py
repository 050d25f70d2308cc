"""Shared plumbing every layer may use: argument checks, atomic files, the package's data tables."""
