"""Files in an experiment folder, local or behind a pyarrow URI (s3://, gs://)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow.fs

from trainables.errors import UserError


def resolve_storage(storage: str) -> str:
    """An absolute local path, or the URI unchanged."""
    return storage if "://" in storage else str(Path(storage).expanduser().resolve())


def check_writable(storage: str) -> None:
    """Refuse, before any work, a local storage folder that cannot be written."""
    if "://" in storage:
        return
    try:
        Path(storage).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=storage, prefix=".lenstune-write-test"):
            pass
    except OSError as exc:
        raise UserError(f"--storage {storage}: not writable ({exc.strerror})") from None


def filesystem(path: str) -> tuple[pyarrow.fs.FileSystem, str]:
    """The pyarrow filesystem of a local path or URI, and the path within it."""
    return pyarrow.fs.FileSystem.from_uri(path if "://" in path else os.path.abspath(path))


def exists(path: str) -> bool:
    return exists_on(*filesystem(path))


def exists_on(fs: pyarrow.fs.FileSystem, fs_path: str) -> bool:
    """`exists` on a filesystem already in hand (one lookup, no URI parsing)."""
    return fs.get_file_info(fs_path).type != pyarrow.fs.FileType.NotFound


def write_text(path: str, text: str) -> None:
    fs, fs_path = filesystem(path)
    fs.create_dir(os.path.dirname(fs_path), recursive=True)
    with fs.open_output_stream(fs_path) as out:
        out.write(text.encode())


def read_text(path: str) -> str:
    fs, fs_path = filesystem(path)
    with fs.open_input_stream(fs_path) as stream:
        return stream.readall().decode()


def copy_folder(source_fs: pyarrow.fs.FileSystem, source: str, destination: str) -> None:
    """Replace `destination` with a copy of `source` (e.g. a checkpoint folder)."""
    fs, fs_path = filesystem(destination)
    if exists_on(fs, fs_path):
        fs.delete_dir(fs_path)
    fs.create_dir(fs_path, recursive=True)
    pyarrow.fs.copy_files(source, fs_path, source_filesystem=source_fs, destination_filesystem=fs)
