# Paper Table 2: RandAugment magnitude M = 12 (0-30 scale) for both views; M = 6 is the default
# (../resnet101_csg_4xb8-30e_visda17.py).
_base_ = ['../resnet101_csg_4xb8-30e_visda17.py']
view_pipeline = [dict(_base_.rand_augment, magnitude_level=12)] + _base_.view_pipeline[1:]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
