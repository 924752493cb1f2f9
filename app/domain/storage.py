"""Files on the server's disk: written whole or not at all (issue 19).

``write_atomically`` writes to a temporary file beside the target, flushes and fsyncs it, and
renames it into place; on any error the temporary file is removed, so nothing half-written
is ever left under the final name. A full disk (or quota) becomes a 507 with a clear message,
any other storage failure a 503 — never a bare 500.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from app.domain.errors import DomainError
from app.i18n import _

DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class StorageUnavailable(DomainError):
    """The server could not store a file: 507 when its disk is full, 503 otherwise."""

    status = 503


class StorageFull(StorageUnavailable):
    status = 507


def _write(handle, data: bytes) -> None:
    """The one write call of the storage layer (flush and fsync included)."""
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())


def write_atomically(target: Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` whole, or raise ``StorageFull``/``StorageUnavailable``."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            _write(handle, data)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise StorageFull(
                _(
                    "El servidor no tiene espacio para guardar el archivo. No se guardó nada; "
                    "intente más tarde o avise a la administración."
                ),
                {"file": [_("Sin espacio en el servidor.")]},
            ) from None
        raise StorageUnavailable(
            _("El servidor no pudo guardar el archivo en este momento. No se guardó nada; intente de nuevo."),
            {"file": [_("Almacenamiento no disponible.")]},
        ) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return target
