"""Signals in, arrays out: reading recordings, electrode names and positions, preprocessing, band power and graphs.

Nothing here knows a dataset; MNE objects and NumPy arrays in, NumPy arrays out.
"""
