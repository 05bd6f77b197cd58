"""Output files: checked before any work starts, written atomically, never replaced by a partial one.

Every command checks each output path it was given with :func:`check_output_path` before it
opens a frame or builds a tracker, so a folder that cannot be written is a one-line error at
once, not a traceback after the whole clip was tracked.

Every writer in regtrack (result files, timings, parameters, checkpoints, weights, videos) goes
through :func:`atomic_path`: write to a temporary file in the same folder, flush it to disk, give
it the mode an ordinary file gets (``mkstemp`` makes ``0600``), then ``os.replace`` it over the
target. An interrupt leaves either the old file or the new one, never a torn one. What a run
that fails part-way had made goes to :func:`partial_path` (``boxes.partial.txt``), beside the
output it would have replaced, so nothing tracked is lost and nothing complete is overwritten.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from regtrack.errors import RegtrackError


def check_output_path(path: str | Path, *, option: str = "output", folder: bool = False) -> Path:
    """Make sure ``path`` can be written before any work starts, or raise a one-line
    :class:`RegtrackError` naming ``option`` (``--save``...) and the fix.

    A file path must not name a folder; a ``folder`` path must not name a file. The folder that
    will hold the output is created (with its parents) and a probe file is written and removed
    in it, so an unwritable folder, a read-only file system, or a parent that is a file are all
    found here, by the operating system itself (``os.access`` says yes to root).
    """
    path = Path(path).expanduser()
    if not str(path).strip():
        raise RegtrackError(f"{option}: the path is empty", fix="give a file or folder name")
    if folder and path.exists() and not path.is_dir():
        raise RegtrackError(f"{option} must be a folder, but this is a file", path=path,
                            fix="give a folder name (it is created if needed)")
    if not folder and path.is_dir():
        raise RegtrackError(f"{option} names a folder, not a file", path=path,
                            fix=f"give a file name inside it, e.g. {path / 'out.txt'}")
    where = path if folder else path.parent
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=where, prefix=".regtrack-probe.")
        os.close(fd)
        os.unlink(probe)
    except FileExistsError:
        raise RegtrackError(f"{option}: cannot create the folder {where}, a file of that name is in the way",
                            path=path, fix="choose another path") from None
    except OSError as err:
        raise RegtrackError(f"{option}: cannot write in {where} ({_reason(err)})", path=path,
                            fix="choose a folder you can write to") from None
    return path


def _reason(err: OSError) -> str:
    return {errno.ENOTDIR: "a part of the path is a file, not a folder",
            errno.EISDIR: "a folder of that name is in the way",
            errno.EROFS: "the file system is read-only",
            errno.EACCES: "permission denied", errno.EPERM: "permission denied",
            errno.ENOSPC: "the disk is full"}.get(err.errno, err.strerror or str(err))


def partial_path(path: str | Path) -> Path:
    """Where the part of an output that a failed run made is kept: ``boxes.txt`` ->
    ``boxes.partial.txt``, ``video.mp4`` -> ``video.partial.mp4`` (the suffix stays, so it opens)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def temp_beside(path: str | Path, keep_suffix: bool = False) -> Path:
    """A new empty temporary file in ``path``'s folder (created with its parents), hidden by a
    leading dot; ``keep_suffix`` ends it with ``path``'s suffix (OpenCV picks a video's
    container from it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                    suffix=".tmp" + (path.suffix if keep_suffix else ""))
    os.close(fd)
    return Path(tmp_name)


def commit(tmp: str | Path, path: str | Path) -> None:
    """Flush ``tmp`` to disk, give it an ordinary file's mode, and ``os.replace`` it over ``path``."""
    with open(tmp, "rb+") as fh:  # the writer may have closed its handle: sync by reopening
        os.fsync(fh.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


@contextmanager
def atomic_path(path: str | Path, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on a clean exit it replaces ``path`` atomically,
    on an exception it is removed and ``path`` is left as it was. A failure of the operating
    system (a folder in the way, the disk full, no permission) is a one-line
    :class:`RegtrackError` naming ``path``."""
    try:
        tmp = temp_beside(path, keep_suffix)
    except OSError as err:
        raise RegtrackError(f"cannot write this file ({_reason(err)})", path=path) from None
    try:
        yield tmp
        commit(tmp, path)
    except OSError as err:
        raise RegtrackError(f"cannot write this file ({_reason(err)})", path=path,
                            fix="move what is in the way, or free some space") from None
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
