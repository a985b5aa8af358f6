"""Runner that turns a stock MMSegmentation EncoderDecoder config into a CSG one.

mmengine refuses a key defined by two sibling ``_base_`` files, and every stock mmseg config
defines ``model`` and the dataloaders, so a mixin cannot override them by inheritance. The CSG
mixin (``configs/_base_/csg/csg_seg.py``) therefore only adds keys no stock config has --
``runner_type='CSGRunner'``, ``csg=dict(...)``, ``custom_imports``, ``custom_hooks`` -- and this
runner applies ``csg`` to the model and the train pipeline before building the stock
:class:`mmengine.runner.Runner`. The config dumped to the work dir is the applied one (it builds
the CSG model with any runner).

``mmengine.runner.Runner.from_cfg(cfg)`` ignores ``runner_type`` and would build the plain model;
:class:`csg_mm.engine.CSGMomentumHook` (in the mixin's ``custom_hooks``) then stops before
training with a message saying how to build the CSG model.
"""
import copy
import logging
from typing import List

from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

# stock type -> CSG type (names as registered in mmseg's registries)
_MODEL_TYPES = {'EncoderDecoder': 'CSGEncoderDecoder', 'CSGEncoderDecoder': 'CSGEncoderDecoder'}
_PREPROCESSOR_TYPES = {
    'SegDataPreProcessor': 'CSGSegDataPreProcessor',
    'CSGSegDataPreProcessor': 'CSGSegDataPreProcessor'
}
_PACK_TYPES = ('PackSegInputs', 'PackCSGSegInputs')
_DEFAULT_CONSTRUCTOR = 'DefaultOptimWrapperConstructor'


def _strip_scope(name: str) -> str:
    return name.split('.')[-1]


def _train_pipelines(dataset: dict) -> List[list]:
    """The pipelines of a train dataset config, looking through dataset wrappers."""
    if 'pipeline' in dataset:
        return [dataset['pipeline']]
    found = []
    if isinstance(dataset.get('dataset'), dict):
        found += _train_pipelines(dataset['dataset'])
    for sub in dataset.get('datasets', []) or []:
        found += _train_pipelines(sub)
    return found


def apply_csg_mixin(cfg: Config) -> Config:
    """Apply ``cfg.csg`` to a stock EncoderDecoder config (returns a new config).

    * ``model.type`` (or, for a test-time-augmentation wrapper such as ``SegTTAModel``, its
      ``module``'s type): ``EncoderDecoder`` -> ``CSGEncoderDecoder`` with ``regularizer``;
    * ``model.data_preprocessor.type``: ``SegDataPreProcessor`` -> ``CSGSegDataPreProcessor``;
    * train pipeline: its ``PackSegInputs`` becomes ``csg.key_view`` (the key-view transform, made
      after every geometric transform) followed by ``PackCSGSegInputs`` (same ``meta_keys``);
    * ``optim_wrapper.constructor``: mmengine's default -> ``TrainableOptimWrapperConstructor``
      (the optimizer holds only trainable parameters, not the frozen teacher or the EMA key
      projections);
    * ``custom_hooks``: ``CSGMomentumHook`` is added if a config replaced the mixin's list
      without it (the key projections would otherwise never be updated);
    * ``train_cfg.type``: ``IterBasedTrainLoop`` -> ``ResumableIterBasedTrainLoop`` (resumes
      without reloading the trained batches, bit-exactly; see ``resumable_loops.py``).

    Applying it twice gives the same config. ``CSGRunner`` calls it; call it yourself before
    ``mmengine.runner.Runner.from_cfg(cfg)`` (which ignores ``runner_type``).

    Raises:
        ValueError: no ``csg.regularizer``, a model that is not an EncoderDecoder, a data
            preprocessor that is not a SegDataPreProcessor, or a train pipeline without
            ``PackSegInputs``.
    """
    cfg = copy.deepcopy(cfg)
    csg = cfg.get('csg')
    if not isinstance(csg, dict) or 'regularizer' not in csg:
        raise ValueError('CSGRunner needs a `csg` dict with a `regularizer` in the config; add '
                         "'configs/_base_/csg/csg_seg.py' to `_base_`")
    model = cfg.model
    model_type = _strip_scope(str(model.get('type')))
    if model_type not in _MODEL_TYPES and isinstance(model.get('module'), dict):
        # a test-time-augmentation wrapper (`tools/test.py --tta`: SegTTAModel(module=...)):
        # the mixin applies to the wrapped model, whose state dict the checkpoint holds
        model = model.module
        model_type = _strip_scope(str(model.get('type')))
    if model_type not in _MODEL_TYPES:
        raise ValueError(
            f'The CSG mixin applies to mmseg EncoderDecoder models; model.type is '
            f'{model.get("type")!r}. Use a config whose model is an EncoderDecoder.')
    model.type = _MODEL_TYPES[model_type]
    model.regularizer = copy.deepcopy(csg['regularizer'])
    pre = model.get('data_preprocessor') or ConfigDict(type='SegDataPreProcessor')
    pre_type = _strip_scope(str(pre.get('type', 'SegDataPreProcessor')))
    if pre_type not in _PREPROCESSOR_TYPES:
        raise ValueError(f'The CSG mixin needs a SegDataPreProcessor; model.data_preprocessor '
                         f'is {pre.get("type")!r}')
    pre.type = _PREPROCESSOR_TYPES[pre_type]
    model.data_preprocessor = pre

    key_view = csg.get('key_view')
    if key_view is not None:
        pipelines = _train_pipelines(cfg.train_dataloader.dataset)
        if not pipelines:
            raise ValueError('CSG: train_dataloader.dataset has no `pipeline` to add the key '
                             'view to')
        for pipeline in pipelines:
            types = [_strip_scope(str(t.get('type'))) for t in pipeline]
            if 'PackCSGSegInputs' in types:
                continue  # already a two-view pipeline
            if 'PackSegInputs' not in types:
                raise ValueError(f'CSG: the train pipeline {types} has no PackSegInputs to '
                                 'replace with the key view + PackCSGSegInputs')
            idx = types.index('PackSegInputs')
            pack = dict(pipeline[idx])
            pack['type'] = 'PackCSGSegInputs'
            pipeline[idx:idx + 1] = [copy.deepcopy(key_view), pack]

    optim_wrapper = cfg.get('optim_wrapper')
    if isinstance(optim_wrapper, dict) and 'optimizer' in optim_wrapper and _strip_scope(
            str(optim_wrapper.get('constructor', _DEFAULT_CONSTRUCTOR))) == _DEFAULT_CONSTRUCTOR:
        optim_wrapper['constructor'] = 'TrainableOptimWrapperConstructor'

    hooks = list(cfg.get('custom_hooks') or [])
    if not any(_strip_scope(str(h.get('type'))) == 'CSGMomentumHook' for h in hooks):
        print_log('CSG: custom_hooks has no CSGMomentumHook (a config replaced the mixin\'s '
                  'list); added it, the key projections need it', logger='current',
                  level=logging.WARNING)
        cfg.custom_hooks = hooks + [dict(type='CSGMomentumHook')]

    train_cfg = cfg.get('train_cfg')
    if isinstance(train_cfg, dict) and _strip_scope(str(train_cfg.get(
            'type', ''))) == 'IterBasedTrainLoop':
        train_cfg['type'] = 'ResumableIterBasedTrainLoop'
    return cfg


@RUNNERS.register_module()
class CSGRunner(Runner):
    """:class:`mmengine.runner.Runner` built from a config with the CSG mixin applied (see
    :func:`apply_csg_mixin`); everything else is the stock runner."""

    @classmethod
    def from_cfg(cls, cfg) -> 'Runner':
        if not isinstance(cfg, Config):
            cfg = Config(cfg)
        return super().from_cfg(apply_csg_mixin(cfg))
