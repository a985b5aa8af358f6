"""Count file reads and image decodes made by data pipelines."""
from typing import List, Tuple


def count_reads_and_decodes(monkeypatch) -> Tuple[List[str], List[int]]:
    """Record every file read (``mmengine.fileio.get``, what mmcv/mmseg/mmpretrain loading
    transforms call) and image decode (``mmcv.imfrombytes``) until the test ends."""
    import mmcv
    from mmengine import fileio
    reads, decodes = [], []
    get, imfrombytes = fileio.get, mmcv.imfrombytes
    monkeypatch.setattr(fileio, 'get',
                        lambda path, *a, **k: reads.append(str(path)) or get(path, *a, **k))
    monkeypatch.setattr(mmcv, 'imfrombytes',
                        lambda *a, **k: decodes.append(1) or imfrombytes(*a, **k))
    return reads, decodes
