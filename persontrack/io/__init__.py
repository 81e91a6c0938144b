"""Reading video and reading/writing result files.

``video`` (with the decord/PyAV readers in ``_readers``) turns a file into frames and
metadata; ``files`` writes and reads tracking results (JSON, CSV, Parquet, MOT);
``mot`` reads and writes MOT Challenge text files. Nothing here knows about people.
"""
