"""A tiny generated folder shaped like VisDA-2017 classification, for tests.

Only numpy and PIL are needed; the folder is deterministic for a given ``seed``.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np
from PIL import Image

VISDA17_CLASSES = ('aeroplane', 'bicycle', 'bus', 'car', 'horse', 'knife', 'motorcycle',
                   'person', 'plant', 'skateboard', 'train', 'truck')


def make_visda17(root: Union[str, os.PathLike],
                 per_class: int = 2,
                 size: Tuple[int, int] = (32, 32),
                 seed: int = 0,
                 splits: Sequence[str] = ('train', 'validation')
                 ) -> Dict[str, List[Tuple[str, int]]]:
    """Write a VisDA-2017-like folder and return its image lists.

    Layout: ``root/<split>/image_list.txt`` and ``root/<split>/<class>/<name>``, ``per_class``
    images for each of the 12 classes. Like the real data, ``train`` holds synthetic renderings
    as PNG (``src_1_<id>.png``) and the other splits hold real crops as JPEG
    (``<class>_<n>.jpg``); list lines are ``<class>/<name> <label>``, paths relative to the split
    folder.

    Args:
        root: folder to create (may exist).
        per_class (int): images per class and split.
        size (tuple[int, int]): image size as (width, height).
        seed (int): random seed.
        splits (Sequence[str]): the splits to write.

    Returns:
        dict: ``{split: [(relative_path, label), ...]}`` in list-file order.
    """
    root = str(root)
    rng = np.random.default_rng(seed)
    w, h = size
    lists = {}
    for split in splits:
        entries = []
        for label, cls in enumerate(VISDA17_CLASSES):
            os.makedirs(osp.join(root, split, cls), exist_ok=True)
            for i in range(per_class):
                if split == 'train':
                    name = f'src_1_{label:08d}_{i:04d}.png'
                else:
                    name = f'{cls}_{i + 1:06d}.jpg'
                arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
                Image.fromarray(arr).save(osp.join(root, split, cls, name))
                entries.append((f'{cls}/{name}', label))
        with open(osp.join(root, split, 'image_list.txt'), 'w') as f:
            f.writelines(f'{path} {label}\n' for path, label in entries)
        lists[split] = entries
    return lists
