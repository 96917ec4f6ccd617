"""Writing outputs: whole or not at all, and never over a file pocketml did not write.

Every file pocketml writes goes through this module:

* :func:`write_atomic` writes one file: a temporary file in the same folder, then an atomic
  rename, so a reader sees the old file or the new one, never half of one.
* :class:`OutputFolder` writes a whole ``OUT`` folder (``shrink``, ``compile``, ``federate``,
  ``match``, ``select``, ...)::

      folder = OutputFolder(out, force=force, command="shrink")
      folder.check()                       # before any long work: fail fast on a bad OUT
      with folder.stage() as work:         # a fresh hidden folder inside OUT
          ...write every output into work...
      # success: the files are in OUT; an error, Ctrl-C or SIGTERM: OUT is as it was

The rules (see docs/security.md, "Your files"):

1. An ``OUT`` that does not exist, or is empty, is created and filled.
2. An ``OUT`` holding the manifest ``.pocketml-output.json`` is a pocketml output. The files
   the manifest lists were written by pocketml: a new run replaces them (and removes those it
   no longer writes). Any other file in it (your notes, a federated checkpoint) is yours and is
   never replaced, moved or deleted.
3. Any other non-empty ``OUT`` (or ``--out .`` in a project folder) is refused, unless
   ``force``: then pocketml writes beside your files and still replaces none of them; if one
   of your files has the path of a file pocketml must write, the run stops and names it.
4. The new files are written into ``OUT/.pocketml-staging-*`` and moved into place one rename
   each once the whole run succeeded; the manifest lists old and new files while they move, so
   an interrupted commit never makes pocketml's files look like yours. A staging folder left by
   a killed process (its marker names a process that is gone) is removed by the next run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pocketml._version import __version__
from pocketml.errors import PocketMLError

MANIFEST = ".pocketml-output.json"
STAGING_PREFIX = ".pocketml-staging-"
STAGING_MARKER = ".pocketml-staging"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed onto ``path`` if the block succeeds, removed if not.

    For writers that want a file name (``numpy.savez``, ``torch.save``, ``matplotlib``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_manifest(out: str | Path) -> set[str] | None:
    """The files (relative POSIX paths) pocketml wrote into ``out``, or None if it is not a pocketml output."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
        files = doc["files"]
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise ValueError("files is not a list of paths")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PocketMLError(f"{path} is damaged ({exc}), so pocketml cannot tell its files from yours",
                            f"move your own files out of {out} and delete it, or choose another --out") from exc
    return {f for f in files if _safe_relative(f)}


def _safe_relative(name: str) -> bool:
    """A manifest entry that stays inside OUT (no absolute path, no '..')."""
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


class OutputFolder:
    """One command's output folder (see the module docstring for the rules).

    Parameters
    ----------
    out : the folder (``--out``).
    force : write into a non-empty folder that is not a pocketml output (your files are kept).
    command : what writes it (recorded in the manifest).
    """

    def __init__(self, out: str | Path, *, force: bool = False, command: str = "pocketml") -> None:
        self.out = Path(out)
        self.force = force
        self.command = command

    # ---- checks --------------------------------------------------------------------------------
    def check(self) -> None:
        """Raise a PocketMLError if ``out`` cannot take this command's output; writes nothing."""
        out = self.out
        for parent in (out, *out.parents):
            if parent.exists() and not parent.is_dir():
                where = "is" if parent == out else f"is under {parent}, which is"
                raise PocketMLError(f"the output folder {out} {where} a file, not a folder",
                                    "choose another --out path")
        if not out.exists():
            return
        if not os.access(out, os.W_OK | os.X_OK):
            raise PocketMLError(f"cannot write into the output folder {out} (permission denied)",
                                "choose a folder you can write to with --out")
        if read_manifest(out) is not None:
            return
        others = sorted(p.name for p in out.iterdir() if not _is_ours(p))
        if others and not self.force:
            shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
            raise PocketMLError(
                f"the output folder {out} already holds files pocketml did not write ({shown})",
                "choose a new or empty folder with --out, or pass --force to write beside those files "
                "(pocketml never replaces or deletes a file it did not write)")

    # ---- staging and commit -------------------------------------------------------------------
    @contextmanager
    def stage(self) -> Iterator[Path]:
        """A fresh folder to write into; its files move into ``out`` only if the block succeeds."""
        self.check()
        out = self.out
        created = not out.exists()
        try:
            out.mkdir(parents=True, exist_ok=True)
            _remove_abandoned_staging(out)
            work = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
            (work / STAGING_MARKER).write_text(str(os.getpid()))
        except OSError as exc:
            raise PocketMLError(f"cannot write the output folder {out}: {exc.strerror}",
                                "choose a folder you can write to with --out") from exc
        try:
            yield work
            self._commit(work)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            if created:
                _rmdir_if_empty(out)
            raise
        shutil.rmtree(work, ignore_errors=True)

    def _commit(self, work: Path) -> None:
        out = self.out
        (work / STAGING_MARKER).unlink()
        (work / MANIFEST).unlink(missing_ok=True)  # a nested command's manifest: this one replaces it
        os.chmod(work, 0o777 & ~_umask())
        new = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if not p.is_dir())
        old = read_manifest(out) or set()
        conflicts = [name for name in new if _taken_by_user(out, name, old)]
        if conflicts:
            raise PocketMLError(
                f"files in {out} that pocketml did not write have the paths of its outputs: "
                + ", ".join(conflicts[:5]) + (f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""),
                "move them out of the folder or choose another --out; nothing in the folder was changed")
        self._write_manifest(old | set(new))  # while files move, every one of them is known as ours
        for name in new:
            target = out / name
            for parent in reversed(Path(name).parents[:-1]):  # a file of ours where a folder goes now
                here = out / parent
                if here.exists() and not here.is_dir():
                    here.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():  # a folder of ours (checked above) where a file goes now
                _remove_ours(target, out, old)
            os.replace(work / name, target)
        for name in sorted(old - set(new)):  # ours from the last run, not written this time
            (out / name).unlink(missing_ok=True)
        for name in sorted(old - set(new), key=lambda n: -len(Path(n).parts)):
            for parent in Path(name).parents[:-1]:
                _rmdir_if_empty(out / parent)
        self._write_manifest(set(new))

    def _write_manifest(self, files: set[str]) -> None:
        doc = {"written_by": f"pocketml {__version__}", "command": self.command,
               "note": "pocketml replaces or deletes only the files listed here; anything else in this folder "
                       "is yours and is never touched",
               "files": sorted(files)}
        write_atomic(self.out / MANIFEST, json.dumps(doc, indent=1) + "\n")


def _is_ours(path: Path) -> bool:
    """The manifest, a staging folder, or the marker of the staging folder that ``path`` is in."""
    return path.name in (MANIFEST, STAGING_MARKER) or (path.name.startswith(STAGING_PREFIX) and path.is_dir())


def _taken_by_user(out: Path, name: str, ours: set[str]) -> bool:
    """Does a file pocketml did not write sit at ``name`` (or at a folder on its way, or inside it)?"""
    target = out / name
    if target.is_symlink() or target.is_file():
        return name not in ours
    if target.is_dir():
        return any(p.relative_to(out).as_posix() not in ours for p in target.rglob("*") if not p.is_dir())
    for parent in Path(name).parents[:-1]:
        here = out / parent
        if here.exists() and not here.is_dir():
            return parent.as_posix() not in ours
    return False


def _remove_ours(folder: Path, out: Path, ours: set[str]) -> None:
    for p in sorted(folder.rglob("*"), key=lambda q: -len(q.parts)):
        if p.is_dir():
            _rmdir_if_empty(p)
        elif p.relative_to(out).as_posix() in ours:
            p.unlink()
    _rmdir_if_empty(folder)


def _rmdir_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _remove_abandoned_staging(out: Path) -> None:
    """Staging folders of pocketml runs that were killed (their marker's process is gone)."""
    for p in out.glob(STAGING_PREFIX + "*"):
        marker = p / STAGING_MARKER
        try:
            pid = int(marker.read_text())
        except (OSError, ValueError):
            continue  # no readable marker: not provably ours, leave it
        if not _alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
