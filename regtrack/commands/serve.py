"""``regtrack serve [--port 8000] [--host 127.0.0.1]``: a local web page to open a video, drag the
target's box on its first frame, and watch trackers follow it (:mod:`regtrack.web.app`)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve", help="a local web page: open a video, drag the box, watch it tracked",
        description="Serve a web page on this machine: open a video file, an image folder or a camera "
        "(upload, or a path on this machine), drag the target's box on the first frame, pick trackers, "
        "and watch them track; download the boxes (OTB text) and the annotated video. Needs "
        'pip install "regtrack[web]".',
        epilog="example:\n  regtrack serve            then open http://127.0.0.1:8000",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it "
                   "to the network, and with it every file this machine's user can read)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from regtrack.errors import RegtrackError

    try:
        import uvicorn

        from regtrack.web.app import create_app
    except ImportError as err:
        raise RegtrackError(f"the web page needs {err.name}", fix='pip install "regtrack[web]"') from None
    if not 0 < args.port < 65536:
        raise RegtrackError(f"--port {args.port} is not a TCP port", fix="give 1..65535, e.g. --port 8000")
    print(f"regtrack: serving on http://{args.host}:{args.port} (Ctrl-C stops)")
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")
    return 0
