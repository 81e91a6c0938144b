"""Finding people and faces in one image.

``detection`` (the :class:`~persontrack.PersonDetector`), ``faces`` (Rekognition
``FaceDetail`` from MediaPipe's face detector and mesh), ``models`` (the model files the
detectors load) and ``detections`` (the validated :class:`~persontrack.Detections`
container every detector returns and the tracker takes).
"""
