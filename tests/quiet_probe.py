"""Run Python code or a module under an audit hook; write what it forked, ran and connected to.

``python quiet_probe.py REPORT.json -c CODE`` or ``python quiet_probe.py REPORT.json -m MODULE
ARGS...``. The hook records ``os.fork``, the process-starting events (``subprocess.Popen``,
``os.posix_spawn``, ``os.exec``, ``os.system``) and ``socket.connect``; the report is written
at exit, also after Ctrl-C, as ``{"events": [[event, detail], ...]}``.
"""

from __future__ import annotations

import atexit
import json
import runpy
import sys

_PROCESS_EVENTS = {"os.fork", "subprocess.Popen", "os.posix_spawn", "os.exec", "os.system"}


def main() -> None:
    report, mode, target, *rest = sys.argv[1:]
    events: list[list[str]] = []

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event in _PROCESS_EVENTS:
            program = args[0] if args else ""
            events.append([event, str(program)])
        elif event == "socket.connect":
            events.append([event, repr(args[1])])

    def write() -> None:
        with open(report, "w") as f:
            json.dump({"events": events}, f)

    atexit.register(write)
    sys.addaudithook(hook)
    if mode == "-c":
        sys.argv = ["-c", *rest]
        exec(compile(target, "<probe>", "exec"), {"__name__": "__main__"})
    else:
        sys.argv = [target, *rest]
        runpy.run_module(target, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
