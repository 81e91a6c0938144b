"""Giving each person a stable ``Index`` across frames.

``tracker`` (the online :class:`~persontrack.Tracker` and its life cycle), ``costs`` (how
a predicted track and a detection are compared), ``postprocess`` (offline fragment
linking, interpolation and smoothing), ``mot`` (the tracker over MOT Challenge
detections) and ``_mot_metrics`` (HOTA/IDF1-style scores for tests and benchmarks).
"""
