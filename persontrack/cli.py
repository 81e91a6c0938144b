"""The ``persontrack`` command.

Forms (kept stable: scripts and benchmarks depend on them)::

    persontrack track VIDEO [-o OUT] [--format json|mot|csv|parquet] [--plot PNG]
                    [--annotate MP4 [--blur faces|people]] [--workers N] …
    persontrack redact VIDEO RESULTS.json -o OUT.mp4 [--blur faces|people]
                    [--method gaussian|pixelate]
    persontrack track rtsp://…|udp://…|http://…|/dev/videoN [-o OUT.csv] …  (until Ctrl-C)
    persontrack track rtsp://…|… --data-dir D [--tag T] [-o OUT.csv] …  (a job in the store)
    persontrack track-detections DETECTIONS.txt --frame-rate FPS [-o OUT]
    persontrack compare REF.json CAND.json [--plot PNG] [--line NAME:x1,y1,x2,y2] …
    persontrack events RESULTS.json [--line NAME:x1,y1,x2,y2] [--zone NAME:x1,y1,x2,y2,…] …
    persontrack start --bucket B --name N [--token T] [--tag T]
    persontrack get JOB_ID [--max-results N] [--next-token T] [--sort-by INDEX|TIMESTAMP]
    persontrack jobs [--json]
    persontrack jobs delete JOB_ID
    persontrack jobs purge --older-than DAYS
    persontrack serve [--host 127.0.0.1] [--port 8080] [--credentials FILE] [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import PersonTrackError
from .io.files import FORMATS, infer_format


@contextlib.contextmanager
def _native_logs_silenced(enabled: bool) -> Iterator[object]:
    """Send what C++ libraries print on fd 2 to /dev/null; yield a stream to the real stderr.

    MediaPipe and TensorFlow Lite log start-up notices on file descriptor 2 that no Python
    setting turns off; the progress bar and our own messages still reach the terminal.
    """
    if not enabled:
        yield sys.stderr
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    stream = os.fdopen(os.dup(saved), "w", buffering=1)
    os.dup2(devnull, 2)
    try:
        yield stream
    finally:
        stream.flush()
        os.dup2(saved, 2)
        for fd in (saved, devnull):
            os.close(fd)
        stream.close()


def _track(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .convert import strip_extensions, validate_response
    from .io.files import write_results
    from .io.stream import is_stream_source
    from .io.video import read_metadata
    from .pipeline import TrackingSettings, track_video

    if not is_stream_source(args.video):
        if args.data_dir or args.tag:
            raise SystemExit(
                "persontrack: --data-dir/--tag make a live stream a job in the store; for a "
                "video file use `persontrack start` (or track it here without them)"
            )
        read_metadata(args.video)  # a clear error before the progress bar starts
    settings = TrackingSettings(
        every_n_frames=args.every_n,
        target_fps=args.target_fps,
        detector_preset=args.preset,
        detector_max_upscale=args.max_upscale,
        faces=not args.no_faces,
        detector=args.detector,
        landmarks=not args.no_landmarks,
        pose_model=args.pose_model,
        smooth_ms=args.smooth,
        video_backend=args.backend,
        appearance=None if args.appearance == "off" else args.appearance,
    )
    if args.blur and not args.annotate:
        raise SystemExit("persontrack: --blur applies to --annotate MP4")
    if is_stream_source(args.video):
        return _track_stream(args, settings)
    fmt = args.format or infer_format(args.output)
    with (
        _native_logs_silenced(not args.verbose) as stream,
        tqdm(
            total=1.0,
            unit="video",
            bar_format="{l_bar}{bar}| {elapsed}<{remaining}",
            disable=args.quiet,
            file=stream,
            desc=Path(args.video).name,
        ) as bar,
    ):

        def progress(fraction: float) -> None:
            bar.n = round(fraction, 4)
            bar.refresh()

        if args.workers is not None:
            if args.annotate:
                raise SystemExit(
                    "persontrack: --annotate needs the whole result: run without --workers, "
                    "or annotate the written results with pt.annotate_video"
                )
            summary = _track_on_dask(args, settings, fmt, progress)
        else:
            result = track_video(args.video, settings, progress=progress)
    if args.workers is not None:
        if not args.quiet:
            print(summary, file=sys.stderr)
        return 0
    df = result.frame
    if fmt == "json":
        response = result.to_response(extensions=not args.strict)
        validate_response(strip_extensions(response) if args.strict else response)
        text = json.dumps(response, indent=1) + "\n"
        if args.output:
            _mkparent(args.output)
            Path(args.output).write_text(text)
        else:
            sys.stdout.write(text)
    else:
        if args.output:
            _mkparent(args.output)
            write_results(df, args.output, format=fmt, video_metadata=result.metadata)
        elif fmt == "parquet":
            raise SystemExit("persontrack: --format parquet needs -o OUT")
        else:
            write_results(df, sys.stdout, format=fmt, video_metadata=result.metadata)
    if args.plot:
        _plot(df, args.video, result, args.plot)
    if args.annotate:
        from .analysis.annotate import annotate_video

        annotate_video(args.video, df, args.annotate, blur=args.blur, progress=not args.quiet)
    if not args.quiet:
        people = df["Index"].nunique()
        faces = int(df["FaceConfidence"].notna().sum())
        print(
            f"persontrack: {people} people, {len(df)} entries, {faces} with a face"
            + (f" -> {args.output}" if args.output else ""),
            file=sys.stderr,
        )
    return 0


def _track_stream(args: argparse.Namespace, settings: Any) -> int:
    """A live stream until Ctrl-C (or SIGTERM): CSV rows (with WallClock) written a chunk
    at a time, and/or (``--data-dir``) a job in the store, its JobId printed at once."""
    import io
    import signal
    import time

    from .io.files import write_results
    from .jobs.live import track_stream

    if args.annotate or args.plot:
        raise SystemExit("persontrack: --annotate and --plot need a video file, not a live stream")
    if (args.format or "csv") != "csv" or (args.output and infer_format(args.output) != "csv"):
        raise SystemExit(
            "persontrack: a live stream is written as CSV (-o OUT.csv), a chunk at a time"
        )
    if args.tag and not args.data_dir:
        raise SystemExit("persontrack: --tag names a job in the store: give --data-dir too")
    if args.output:
        _mkparent(args.output)
    to_csv = bool(args.output) or not args.data_dir  # with a store, CSV only with -o
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    header = True
    people: set[int] = set()
    rows = 0

    def write(chunk: Any) -> None:
        nonlocal header, rows
        rows += len(chunk)
        people.update(int(i) for i in chunk["Index"])
        if not to_csv:
            return
        buf = io.StringIO()
        write_results(chunk.drop(columns="WallClock"), buf, format="csv")
        lines = buf.getvalue().splitlines()
        walls = chunk["WallClock"].map(lambda t: t.isoformat()).tolist()
        if header:
            out.write(lines[0] + ",WallClock\n")
            header = False
        out.writelines(f"{line},{wall}\n" for line, wall in zip(lines[1:], walls, strict=True))
        out.flush()

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM stops it as Ctrl-C does: the job ends SUCCEEDED

    previous = signal.signal(signal.SIGTERM, interrupt)
    with _native_logs_silenced(not args.verbose) as err:
        stream: Any = err
        store = None
        if args.data_dir:
            from .jobs.client import client

            store = client(args.data_dir)
        try:
            live = track_stream(args.video, settings, on_chunk=write, store=store, job_tag=args.tag)
            if live.job_id is not None:
                print(json.dumps({"JobId": live.job_id}), flush=True)
            last_note = time.monotonic()
            try:
                # sleep, not join: a Ctrl-C that interrupts Thread.join can leave the
                # thread counted as ended while it still runs (and dies with the process)
                while live.running:
                    time.sleep(0.2)
                    if not args.quiet and time.monotonic() - last_note >= 5:
                        stats = live.stats()
                        print(
                            f"persontrack: {stats['frames_analysed']} frames analysed, "
                            f"{len(people)} people, latency {stats['latency_s_mean']:.2f} s",
                            file=stream,
                        )
                        last_note = time.monotonic()
            except KeyboardInterrupt:
                live.stop()  # the rows gathered before the stop are written
            finally:
                live.stop()
                live.wait()  # the last chunk and the job's end; raises the tracking's error
        finally:
            signal.signal(signal.SIGTERM, previous)
            if out is not sys.stdout:
                out.close()
            if store is not None:
                store.close()
        if not args.quiet:
            stats = live.stats()
            where = [args.output] if args.output else []
            if live.job_id is not None:
                where.append(f"job {live.job_id} in {store.data_dir if store else ''}")
            print(
                f"persontrack: stopped; {stats['frames_analysed']} of {stats['frames_decoded']} "
                f"frames analysed, {len(people)} people, {rows} entries"
                + (f" -> {', '.join(where)}" if where else ""),
                file=stream,
            )
    return 0


def _track_on_dask(args: argparse.Namespace, settings: Any, fmt: str, progress: Any) -> str:
    """``track --workers N``: segments on Dask, each written out as soon as it is stitched.

    Returns the summary line.
    """
    import pandas as pd

    from .convert import EXTENSION_KEY
    from .io.files import ResultsWriter
    from .segments import iter_segments

    if fmt == "parquet" and not args.output:
        raise SystemExit("persontrack: --format parquet needs -o OUT")
    if args.output:
        _mkparent(args.output)
    paths, people, rows, faces, last = [], set(), 0, 0, None
    with ResultsWriter(args.output or sys.stdout, format=fmt, extensions=not args.strict) as out:
        for chunk, part in iter_segments(
            args.video,
            settings,
            workers=args.workers,
            progress=progress,
            segment_seconds=args.segment,
        ):
            last = part
            out.write(chunk, video_metadata=part.metadata)
            people.update(chunk["Index"].unique().tolist())
            rows += len(chunk)
            faces += int(chunk["FaceConfidence"].notna().sum())
            if args.plot:  # boxes only: the paths need no landmarks
                paths.append(chunk[["Timestamp", "FrameNumber", "Index", "Left", "Top",
                                    "Width", "Height"]])  # fmt: skip
        assert last is not None
        out.extra = {EXTENSION_KEY: {"Versions": last.versions, "Settings": last.settings}}
    if args.plot:
        from .schema import validate_frame

        df = validate_frame(pd.concat(paths, ignore_index=True), fill_missing=True)
        _plot(df, args.video, last, args.plot)
    return f"persontrack: {len(people)} people, {rows} entries, {faces} with a face" + (
        f" -> {args.output}" if args.output else ""
    )


def _mkparent(path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)


def _plot(df: Any, video: str, result: Any, out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .analysis.plot import plot_paths
    from .io.video import iter_frames

    image = None
    for frame in iter_frames(video, backend=result.settings.get("video_backend", "auto")):
        image = frame.image
        break
    people = df["Index"].nunique()
    # People cut by the bottom of the frame (close to the camera) have no visible feet:
    # their box bottoms all lie on the edge, so follow the box centres instead.
    cut = ((df["Top"] + df["Height"]) >= 0.98).mean() > 0.5 if len(df) else False
    ax = plot_paths(
        df,
        image=image,
        anchor="center" if cut else "feet",
        title=f"{Path(video).name}: paths of {people} people",
    )
    _mkparent(out)
    fig = ax.get_figure(root=True)
    assert fig is not None
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _redact(args: argparse.Namespace) -> int:
    from .analysis.redact import redact_video
    from .io.files import read_results
    from .io.video import read_metadata

    read_metadata(args.video)  # a clear error before reading the results
    df = read_results(args.results)
    _mkparent(args.output)
    redact_video(
        args.video, df, args.output, blur=args.blur, method=args.method, progress=not args.quiet
    )
    if not args.quiet:
        print(
            f"persontrack: {df['Index'].nunique()} people's {args.blur} covered -> {args.output}",
            file=sys.stderr,
        )
    return 0


def _track_detections(args: argparse.Namespace) -> int:
    from .io.mot import read_mot_detections, write_mot_tracks
    from .tracking.mot import track_mot_detections

    detections = read_mot_detections(args.detections)
    tracks = track_mot_detections(detections, args.frame_rate, postprocess=not args.no_postprocess)
    if args.output:
        _mkparent(args.output)
        write_mot_tracks(tracks, args.output)
    else:
        write_mot_tracks(tracks, sys.stdout)
    return 0


def _ratios(spec: str, what: str, points: int | None) -> tuple[str, list[tuple[float, float]]]:
    """``NAME:x1,y1,x2,y2,…`` (ratios of the frame) -> (name, points)."""
    from .errors import InvalidParameterException

    name, sep, rest = spec.partition(":")
    try:
        values = [float(v) for v in rest.split(",")] if sep else []
    except ValueError:
        values = []
    need = f"{points} points" if points else "at least 3 points"
    if (
        not name
        or len(values) % 2
        or (points is not None and len(values) != 2 * points)
        or (points is None and len(values) < 6)
    ):
        raise InvalidParameterException(
            f"--{what} must be NAME:x1,y1,x2,y2{'' if points else ',x3,y3,…'} ({need}), "
            f"got {spec!r}"
        )
    if not all(0.0 <= v <= 1.0 for v in values):
        raise InvalidParameterException(
            f"--{what} {name}: points are ratios of the frame, from 0 to 1; got {rest!r}"
        )
    return name, list(zip(values[::2], values[1::2], strict=True))


def _shapes(args: argparse.Namespace) -> tuple[dict, dict]:
    lines = dict(_ratios(s, "line", 2) for s in args.line or [])
    zones = dict(_ratios(s, "zone", None) for s in args.zone or [])
    return lines, zones


def _compare(args: argparse.Namespace) -> int:
    from .analysis.compare import compare_results

    lines, zones = _shapes(args)
    comparison = compare_results(
        args.reference,
        args.candidate,
        threshold=args.threshold,
        lines=lines or None,
        zones=zones or None,
    )
    sys.stdout.write(json.dumps(comparison.summary(), indent=1) + "\n")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        image = None
        if args.video:
            from .analysis.plot import frame_at

            image = frame_at(args.video, 0)
        fig = comparison.plot(
            image=image,
            titles=(
                f"Reference {Path(args.reference).name}",
                f"Candidate {Path(args.candidate).name}",
            ),
        )
        _mkparent(args.plot)
        fig.savefig(args.plot, dpi=110)
        plt.close(fig)
    return 0


def _events(args: argparse.Namespace) -> int:
    from .analysis.spatial_events import spatial_analysis_events

    lines, zones = _shapes(args)
    messages = spatial_analysis_events(
        args.results,
        lines=lines or None,
        zones=zones or None,
        focus=args.focus,
        source_id=args.source_id,
        start_time=args.start,
    )
    text = "".join(json.dumps(m) + "\n" for m in messages)
    if args.output:
        _mkparent(args.output)
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``persontrack`` command."""
    parser = argparse.ArgumentParser(
        prog="persontrack",
        description="People, faces and paths from video: a local Rekognition People Pathing.",
    )
    parser.add_argument("--version", action="version", version=f"persontrack {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("track", help="track the people in a video file or live stream")
    t.add_argument(
        "video",
        help="video file (mp4, mkv, mov, avi, gif, …) or live stream (rtsp://, udp://, "
        "http://, …, /dev/videoN: CSV rows a chunk at a time until Ctrl-C)",
    )
    t.add_argument("-o", "--output", help="output file (default: standard output)")
    t.add_argument(
        "--format",
        choices=FORMATS,
        help="json: GetPersonTracking response; mot: frame,id,x,y,w,h,conf,-1,-1,-1; "
        "csv/parquet: the results table (default: from the -o extension, else json)",
    )
    t.add_argument("--plot", metavar="PNG", help="also draw the paths over the first frame")
    t.add_argument(
        "--annotate",
        metavar="MP4",
        help="also write the video with each person's box, Index and trail drawn (H.264)",
    )
    t.add_argument(
        "--blur",
        choices=("faces", "people"),
        help="with --annotate: blur each tracked person's face (or whole body) in that video",
    )
    t.add_argument("--every-n", type=int, metavar="N", help="analyse every Nth frame")
    t.add_argument(
        "--target-fps",
        type=float,
        metavar="FPS",
        help="analyse about FPS frames/s (default: 16, unless --every-n is given)",
    )
    t.add_argument(
        "--preset",
        default="balanced",
        choices=("fast", "balanced", "thorough"),
        help="person detector speed/recall trade-off (default: balanced)",
    )
    t.add_argument(
        "--max-upscale",
        type=float,
        metavar="F",
        help="most a video smaller than the preset's input is enlarged for the person "
        "detector (1: never, the video's own size: faster on small videos, fewer small or far "
        "people found; default: to the preset's size)",
    )
    t.add_argument("--no-faces", action="store_true", help="skip face analysis")
    t.add_argument("--no-landmarks", action="store_true", help="skip the 33 body landmarks")
    t.add_argument("--pose-model", metavar="TASK", help="official pose_landmarker .task file")
    t.add_argument(
        "--smooth",
        type=float,
        default=0.0,
        metavar="MS",
        help="average each person's boxes over time (Gaussian, MS milliseconds; 0: off)",
    )
    t.add_argument(
        "--detector",
        metavar="FILE",
        help="person box detector: an OpenVINO IR .xml (its .bin beside it) or a YOLOX .onnx "
        "(default: the shipped person-vehicle-bike-detection-2003)",
    )
    t.add_argument(
        "--appearance",
        default="0287",
        metavar="MODEL",
        help="re-identification model that keeps one Index per person through crossings and "
        "exits: 0287 (default), 0277 (slower), an OpenVINO IR .xml file, or off (motion only)",
    )
    t.add_argument("--backend", default="auto", choices=("auto", "decord", "pyav"))
    t.add_argument(
        "--strict",
        action="store_true",
        help="json: only Rekognition's fields (no PersonTrack extensions)",
    )
    t.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="track in time segments on N Dask worker processes (a LocalCluster, or the "
        "cluster of $PERSONTRACK_DASK_SCHEDULER); results are written as segments finish",
    )
    t.add_argument(
        "--segment",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="with --workers: seconds of video per segment (default 60)",
    )
    t.add_argument(
        "--data-dir",
        metavar="DIR",
        help="live streams: also run the stream as a job of the job store in DIR (its JobId "
        "is printed at once; `persontrack get JOB_ID --data-dir DIR` pages its rows while it "
        "runs; Ctrl-C ends it SUCCEEDED); CSV rows then only with -o",
    )
    t.add_argument("--tag", metavar="TAG", help="with --data-dir: the job's JobTag")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    t.add_argument("-v", "--verbose", action="store_true", help="show MediaPipe's own logs")
    t.set_defaults(func=_track)

    r = sub.add_parser(
        "redact", help="copy a video with each tracked person's face (or body) blurred"
    )
    r.add_argument("video", help="the video the results are of")
    r.add_argument("results", help="its results: GetPersonTracking JSON, csv or parquet")
    r.add_argument("-o", "--output", required=True, help="the redacted copy (.mp4, .mkv, …)")
    r.add_argument(
        "--blur",
        default="faces",
        choices=("faces", "people"),
        help="faces: each face (its head where none was found); people: whole boxes",
    )
    r.add_argument("--method", default="gaussian", choices=("gaussian", "pixelate"))
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    r.set_defaults(func=_redact)

    d = sub.add_parser("track-detections", help="run the tracker alone on MOT detections")
    d.add_argument("detections", help="MOT det.txt: frame,-1,x,y,w,h,score[,…]")
    d.add_argument("--frame-rate", type=float, required=True, metavar="FPS")
    d.add_argument("-o", "--output", help="MOT tracks file (default: standard output)")
    d.add_argument(
        "--no-postprocess",
        action="store_true",
        help="online ids only: no fragment linking, gap interpolation or smoothing",
    )
    d.set_defaults(func=_track_detections)

    shape_help = {
        "line": "a counting line, points as ratios of the frame (repeat for more)",
        "zone": "a zone polygon of 3 or more points, ratios of the frame (repeat for more)",
    }
    c = sub.add_parser(
        "compare",
        help="compare results with a reference (an archived GetPersonTracking response)",
        description="Score CAND against REF (the ground truth): MOTA, IDF1, HOTA as TrackEval "
        "computes them, which reference Index is which candidate Index, per-person drift. "
        "Prints the summary as JSON.",
    )
    c.add_argument("reference", help="reference results: GetPersonTracking JSON (or pages), csv")
    c.add_argument("candidate", help="candidate results, same forms")
    c.add_argument("--plot", metavar="PNG", help="also draw both sets of paths side by side")
    c.add_argument("--video", help="with --plot: draw the paths over this video's first frame")
    c.add_argument("--threshold", type=float, default=0.5, help="IoU of a match (default 0.5)")
    c.add_argument("--line", action="append", metavar="NAME:x1,y1,x2,y2", help=shape_help["line"])
    c.add_argument("--zone", action="append", metavar="NAME:x1,y1,…", help=shape_help["zone"])
    c.set_defaults(func=_compare)

    e = sub.add_parser(
        "events",
        help="Azure Spatial Analysis events (lines, zones, dwell, counts) of stored results",
        description="Print the Spatial Analysis messages (personCountEvent, personLineEvent, "
        "personZoneEnterExitEvent, personZoneDwellTimeEvent) of stored results, one JSON "
        "message per line.",
    )
    e.add_argument("results", help="results: GetPersonTracking JSON (or pages), csv, parquet")
    e.add_argument("--line", action="append", metavar="NAME:x1,y1,x2,y2", help=shape_help["line"])
    e.add_argument("--zone", action="append", metavar="NAME:x1,y1,…", help=shape_help["zone"])
    e.add_argument(
        "--focus",
        default="footprint",
        choices=("footprint", "bottom_center", "center"),
        help="point of the box events use (default footprint: the bottom centre)",
    )
    e.add_argument("--source-id", default="persontrack", help="sourceInfo.id (the camera)")
    e.add_argument(
        "--start",
        metavar="ISO",
        help="UTC time of the video's start, e.g. 2024-05-01T09:00:00Z (default 1970-01-01)",
    )
    e.add_argument("-o", "--output", help="write the messages here (default: standard output)")
    e.set_defaults(func=_events)

    from .jobs.cli import add_job_commands

    add_job_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (errors print one line, status 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PersonTrackError as exc:
        print(f"persontrack: {exc.response['Error']['Code']}: {exc.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
