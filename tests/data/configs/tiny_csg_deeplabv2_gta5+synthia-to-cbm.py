# configs/csg/deeplabv2_r50_csg_gta5+synthia-to-cbm.py shrunk for CPU tests on generated data
# (as tiny_csg_deeplabv2_gta5.py): trains on GTA5 + SYNTHIA (one ConcatDataset), validates and
# tests on Cityscapes + BDD100K + Mapillary in one run. Tests set every data_root and the
# "ImageNet" checkpoint via --cfg-options (e.g. test_dataloader.dataset.datasets.1.data_root=...).
_base_ = ['../../../configs/csg/deeplabv2_r50_csg_gta5+synthia-to-cbm.py']
crop_size = (64, 64)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, base_channels=8, stem_channels=8),
    decode_head=dict(in_channels=64, dropout_ratio=0.0))
csg = dict(regularizer=dict(pool=dict(grid=2), head=dict(queue_len=64)))
tiny_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(80, 48), ratio_range=(0.75, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 32), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(datasets=[
        dict(type='GTA5Dataset', pipeline=tiny_train_pipeline),
        dict(type='SynthiaDataset', pipeline=tiny_train_pipeline),
    ]))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(datasets=[
        dict(type='CheckedCityscapesDataset',
             data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
             pipeline=tiny_test_pipeline),
        dict(type='CheckedBDD100KDataset',
             data_prefix=dict(img_path='images/10k/val', seg_map_path='labels/sem_seg/masks/val'),
             pipeline=tiny_test_pipeline),
        dict(type='Mapillary19Dataset', pipeline=tiny_test_pipeline),
    ]))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=2)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=2))
randomness = dict(seed=0, deterministic=True)
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork'))
