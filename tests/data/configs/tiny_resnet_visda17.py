# The single-view vanilla baseline (configs/csg/resnet101_4xb8-30e_visda17.py) shrunk like
# tiny_csg_resnet_visda17.py: the same tiny model without CSG. The e2e tests also put this body
# on top of the other single-view baselines (oracle, feature l2, L2-SP) by swapping the `_base_`
# line, and use it to evaluate CSG-trained checkpoints with a plain config.
_base_ = ['../../../configs/csg/resnet101_4xb8-30e_visda17.py']
model = dict(
    backbone=dict(depth=18, base_channels=8, stem_channels=8),
    head=dict(in_channels=64, mid_channels=[32]))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    _base_.train_pipeline[1],  # RandAugment as shipped
    dict(type='ResizeEdge', scale=32, edge='short'),
    dict(type='RandomCrop', crop_size=32),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=32, edge='short'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type='VisDAMetric'), dict(type='HypersphericalEnergyMetric')]
# as shipped: the mean class accuracy only
test_evaluator = dict(type='VisDAMetric')
# the shipped schedule, shortened: 2 warm-up iterations, poly over the 1 epoch(s)
param_scheduler = [
    dict(_base_.param_scheduler[0], end=2),
    dict(_base_.param_scheduler[1], end=1),
]
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=5))
randomness = dict(seed=0, deterministic=True)
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork'))
