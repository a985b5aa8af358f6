"""Label tables that map the source data sets' own label ids or names to the 19 Cityscapes train
ids (0 road ... 18 bicycle; 255 = ignore), used by the converters in
:mod:`csg_mm.datasets.converters` and documented label by label in ``docs/datasets.md``.

Sources:

- ``CITYSCAPES_ID_TO_TRAIN_ID``: cityscapesScripts ``helpers/labels.py`` (the ``trainId`` column);
  GTA5's labels hold Cityscapes label ids (Richter et al., ECCV 2016).
- ``SYNTHIA_ID_TO_TRAIN_ID``: SYNTHIA-RAND-CITYSCAPES's README class list (0 void, 1 sky,
  2 building, 3 road, 4 sidewalk, 5 fence, 6 vegetation, 7 pole, 8 car, 9 traffic sign,
  10 pedestrian, 11 bicycle, 12 motorcycle, 13 parking-slot, 14 road-work, 15 traffic light,
  16 terrain, 17 rider, 18 truck, 19 bus, 20 train, 21 wall, 22 lanemarking), each class sent to
  the Cityscapes class of the same meaning; parking-slot, road-work, lanemarking and void -> 255.
- ``MAPILLARY_NAME_TO_TRAIN_ID``: Mapillary Vistas v1.2 label ``name`` (``config.json``) ->
  train id.
  ``'robustnet'`` is the table of RobustNet (Choi et al., CVPR 2021) that most domain-generalisation
  work evaluating on Mapillary reuses (its ids into the v1.2 label list, written here by name);
  ``'openseg'`` is the name-based table of openseg.pytorch that Rein (Wei et al., CVPR 2024) and
  later vision-foundation-model DG work use. They differ on the 11 labels listed in
  :data:`MAPILLARY_CONVENTION_DIFFERENCES`.
"""
from typing import Dict

import numpy as np

NUM_CLASSES = 19
IGNORE_INDEX = 255
CITYSCAPES_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                      'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car',
                      'truck', 'bus', 'train', 'motorcycle', 'bicycle')

# Cityscapes label id -> train id; every other id -> 255.
CITYSCAPES_ID_TO_TRAIN_ID: Dict[int, int] = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12,
    26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18
}

# SYNTHIA-RAND-CITYSCAPES class id (GT/LABELS, class channel) -> train id; others -> 255.
SYNTHIA_ID_TO_TRAIN_ID: Dict[int, int] = {
    3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 16: 9, 1: 10, 10: 11, 17: 12, 8: 13,
    18: 14, 19: 15, 20: 16, 12: 17, 11: 18
}
SYNTHIA_NUM_IDS = 23  # class ids 0..22 in the README's list

_ROBUSTNET = {
    'construction--flat--road': 0,
    'marking--general': 0,
    'object--manhole': 0,
    'construction--barrier--curb': 1,
    'construction--flat--sidewalk': 1,
    'construction--structure--building': 2,
    'construction--barrier--wall': 3,
    'construction--barrier--fence': 4,
    'object--support--pole': 5,
    'object--support--utility-pole': 5,
    'object--traffic-light': 6,
    'object--traffic-sign--front': 7,
    'nature--vegetation': 8,
    'nature--terrain': 9,
    'nature--sky': 10,
    'human--person': 11,
    'human--rider--bicyclist': 12,
    'human--rider--motorcyclist': 12,
    'human--rider--other-rider': 12,
    'object--vehicle--car': 13,
    'object--vehicle--truck': 14,
    'object--vehicle--bus': 15,
    'object--vehicle--on-rails': 16,
    'object--vehicle--motorcycle': 17,
    'object--vehicle--bicycle': 18,
}
# openseg.pytorch / Rein: matches the readable names; road also takes crosswalk, parking, bike and
# service lanes and both lane markings; sidewalk takes curb, curb cut and pedestrian area; pole
# takes street lights; traffic sign takes the sign's back and the sign frame; manholes -> 255.
_OPENSEG = {k: v for k, v in _ROBUSTNET.items() if k != 'object--manhole'}
_OPENSEG.update({
    'construction--flat--crosswalk-plain': 0,
    'construction--flat--parking': 0,
    'construction--flat--bike-lane': 0,
    'construction--flat--service-lane': 0,
    'marking--crosswalk-zebra': 0,
    'construction--flat--curb-cut': 1,
    'construction--flat--pedestrian-area': 1,
    'object--street-light': 5,
    'object--support--traffic-sign-frame': 7,
    'object--traffic-sign--back': 7,
})
MAPILLARY_NAME_TO_TRAIN_ID: Dict[str, Dict[str, int]] = dict(robustnet=_ROBUSTNET, openseg=_OPENSEG)
MAPILLARY_DEFAULT_CONVENTION = 'robustnet'
MAPILLARY_CONVENTION_DIFFERENCES = tuple(
    sorted(set(_ROBUSTNET) ^ set(_OPENSEG)
           | {k for k in _ROBUSTNET if k in _OPENSEG and _ROBUSTNET[k] != _OPENSEG[k]}))


def lut_from_ids(table: Dict[int, int], size: int = 256) -> np.ndarray:
    """A uint8 look-up table of ``size`` entries: ``lut[id] = table.get(id, 255)``."""
    lut = np.full(size, IGNORE_INDEX, dtype=np.uint8)
    for src, dst in table.items():
        lut[src] = dst
    return lut


def mapillary_lut(label_names, convention: str = MAPILLARY_DEFAULT_CONVENTION) -> np.ndarray:
    """The look-up table (uint8, one entry per label id) for Mapillary labels whose ids index
    ``label_names`` (``config.json``'s ``labels[i]['name']`` in order).

    Raises:
        ValueError: unknown ``convention``, or a name of the table missing from ``label_names``
            (e.g. a Mapillary v2.0 ``config`` whose names differ from v1.2's).
    """
    if convention not in MAPILLARY_NAME_TO_TRAIN_ID:
        raise ValueError(f'unknown Mapillary convention {convention!r}; choose one of '
                         f'{sorted(MAPILLARY_NAME_TO_TRAIN_ID)}')
    table = MAPILLARY_NAME_TO_TRAIN_ID[convention]
    names = list(label_names)
    missing = sorted(set(table) - set(names))
    if missing:
        raise ValueError(f'the label definitions lack {len(missing)} Mapillary Vistas v1.2 '
                         f'label name(s) of the {convention!r} table, e.g. {missing[:3]}; '
                         'is this the v1.2 config.json (66 labels)?')
    lut = np.full(max(len(names), 1), IGNORE_INDEX, dtype=np.uint8)
    for i, name in enumerate(names):
        lut[i] = table.get(name, IGNORE_INDEX)
    return lut


def looks_like_train_ids(values: np.ndarray) -> bool:
    """Whether every value is a Cityscapes train id (0..18) or 255: an already converted label."""
    values = np.asarray(values)
    return bool(np.all((values < NUM_CLASSES) | (values == IGNORE_INDEX)))
