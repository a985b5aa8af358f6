# The plain (non-CSG) counterpart of tiny_csg_deeplabv2_gta5.py: the same model without CSG, to
# evaluate CSG-trained checkpoints with a plain config.
_base_ = ['../../../configs/csg/deeplabv2_r50_gta5_baseline.py']
crop_size = (64, 64)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, base_channels=8, stem_channels=8),
    decode_head=dict(in_channels=64, dropout_ratio=0.0))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 32), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
