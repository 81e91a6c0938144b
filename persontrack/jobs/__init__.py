"""The Rekognition-shaped jobs service: StartPersonTracking / GetPersonTracking.

``client`` (the boto3-like :class:`~persontrack.PersonTrackingClient`), ``_store`` (the
SQLite job store, the source of truth for jobs and results), ``_worker`` (runs a job),
``_storage`` (local buckets and S3), ``_notify`` (SNS, webhooks, callables), ``_tokens``
(signed NextTokens), ``_params`` (request validation from botocore's model), ``_options``
(the client's options, checked when it is made), ``server`` (``persontrack serve``:
Rekognition's wire protocol over HTTP for any AWS SDK), ``_sigv4`` (its AWS Signature
Version 4 check) and ``cli`` (the ``persontrack start|get|jobs|serve`` commands).
"""
