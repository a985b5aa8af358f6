# The paper's CSG VisDA-17 config (configs/csg/resnet101_csg_4xb8-30e_visda17.py) shrunk for CPU
# tests on generated data: mmpretrain ResNet-18 at 1/8 width (torchvision key layout, stage widths
# 8/16/32/64), 32 x 32 views, K = 64, batch 4, 2 epochs. Tests set the data roots and the
# teacher/student "ImageNet" checkpoint via --cfg-options
# (model.backbone.init_cfg.checkpoint=..., {train,val,test}_dataloader.dataset.data_root=...).
_base_ = ['../../../configs/csg/resnet101_csg_4xb8-30e_visda17.py']
model = dict(
    backbone=dict(depth=18, base_channels=8, stem_channels=8),
    head=dict(in_channels=64, mid_channels=[32]),
    regularizer=dict(head=dict(queue_len=64)))
# two independent views, each: RandAugment (M = 6 of 30, as shipped), Resize 32, RandomCrop 32
view_pipeline = [
    _base_.rand_augment,
    dict(type='ResizeEdge', scale=32, edge='short'),
    dict(type='RandomCrop', crop_size=32),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
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
# mean class accuracy and the feature diversity (hyperspherical energy, paper Table 1)
val_evaluator = [dict(type='VisDAMetric'), dict(type='HypersphericalEnergyMetric')]
test_evaluator = val_evaluator
# the shipped schedule, shortened: 2 warm-up iterations, poly over the 2 epoch(s)
param_scheduler = [
    dict(_base_.param_scheduler[0], end=2),
    dict(_base_.param_scheduler[1], end=2),
]
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=5))
randomness = dict(seed=0, deterministic=True)
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork'))
