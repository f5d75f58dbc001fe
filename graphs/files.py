"""Output files and folders that appear whole or not at all.

Every command that writes goes through here: `check_target` refuses a target that cannot be
written before any work starts (one-line `EdgesimError`); `atomic_file` writes to a hidden
temporary sibling and renames it over the target; `atomic_folder` stages a whole output
folder beside the target and swaps it in, so an old run's files never mix with a new one's.
Files get ordinary permissions (0666 less the umask), not the 0600 of `tempfile`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from graphs.errors import EdgesimError

# A folder swapped in by `atomic_folder` holds this file, so that a later run may replace it
# whole; a folder without it (and not empty) may hold the user's own files and is refused.
MARKER = ".edgesim-output"


def check_target(path: str | Path, *, folder: bool = False) -> Path:
    """`path` as a Path once it is clear that it can be written: not empty, not an existing
    folder (a file target) or file (a folder target), its nearest existing ancestor a
    writable folder. Nothing is created."""
    text = str(path)
    kind = "folder" if folder else "file"
    if not text.strip():
        raise EdgesimError(f"the output {kind} name is empty")
    path = Path(text)
    if path.name in ("", "..") or (not folder and text.endswith(("/", os.sep))):
        raise EdgesimError(f"{_short(text)}: give a {kind} name, not a path ending in {text[-2:]!r}")
    if any(len(part.encode()) > 255 for part in path.parts):
        raise EdgesimError(f"{_short(text)}: a name in the path is longer than 255 bytes")
    try:
        exists, is_dir = path.exists(), path.is_dir()
        if exists and folder and not is_dir:
            raise EdgesimError(f"{_short(text)}: exists and is not a folder; give a folder (it is created)")
        if exists and not folder and is_dir:
            raise EdgesimError(f"{_short(text)}: is a folder; give a file name")
        if folder and exists and any(path.iterdir()) and not (path / MARKER).exists():
            raise EdgesimError(f"{_short(text)}: holds files edgesim did not write; give a new or empty folder")
        ancestor = path.absolute().parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise EdgesimError(f"{_short(text)}: {ancestor} is a file, not a folder")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise EdgesimError(f"{_short(text)}: cannot write in {ancestor} (permission denied)")
    except OSError as exc:
        raise EdgesimError(f"{_short(text)}: cannot write ({exc.strerror or exc})") from None
    return path


@contextmanager
def atomic_file(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """An open handle (`mode` "w" or "wb") on a temporary sibling of `path`, renamed over
    `path` when the block ends without an exception and removed when it does not."""
    path = check_target(path)
    with _os_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as handle:
            yield handle
        with _os_errors(path):
            os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; return the path."""
    with atomic_file(path) as handle:
        handle.write(text)
    return Path(path)


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """A staging folder beside `path` to write every output file into; when the block ends
    without an exception it replaces `path` whole (any previous edgesim output there goes),
    and when it does not, it is removed and `path` is left as it was."""
    path = check_target(path, folder=True)
    with _os_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent))
    old = None
    try:
        os.chmod(staging, 0o777 & ~_umask())
        yield staging
        (staging / MARKER).write_text("written by edgesim; a later run may replace this folder whole\n")
        with _os_errors(path):
            if path.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
                os.replace(path, old / path.name)
            os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _os_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise EdgesimError(f"{_short(str(path))}: cannot write ({exc.strerror or exc})") from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"
