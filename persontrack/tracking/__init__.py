"""Giving each person a stable ``Index`` across frames.

``tracker`` (the online :class:`~persontrack.Tracker` and its life cycle), ``costs`` (how
a predicted track and a detection are compared), ``postprocess`` (offline fragment
linking, interpolation and smoothing), ``mot`` (the tracker over MOT Challenge
detections), ``metrics`` (MOTA, IDF1 and HOTA as TrackEval computes them) and
``_mot_metrics`` (MOT17 ground truth scored with them, for tests and benchmarks).
"""
