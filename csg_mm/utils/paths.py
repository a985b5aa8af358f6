# Copyright (c) csg_mm contributors. All rights reserved.
"""Output paths that never overwrite an existing file (the analysis tools' PNGs and tables)."""
import os.path as osp
import sys


def unique_path(path: str) -> str:
    """``path`` if it does not exist, else the first free ``<stem>_<k><ext>`` (k = 1, 2, ...)."""
    if not osp.exists(path):
        return path
    stem, ext = osp.splitext(path)
    k = 1
    while osp.exists(f'{stem}_{k}{ext}'):
        k += 1
    return f'{stem}_{k}{ext}'


def announce_write(path: str, wanted: str) -> None:
    """Say on stderr that ``wanted`` existed and was kept when the file went to ``path``
    (:func:`unique_path`); silent when ``path == wanted``."""
    if path != wanted:
        print(f'note: {wanted} exists and is kept; wrote {path}', file=sys.stderr)


__all__ = ['unique_path', 'announce_write']
