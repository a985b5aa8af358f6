# VisDA-2017 classification for the non-CSG baselines (plain fine-tuning, weight / feature l2,
# ImageNet oracle): the same augmentation as the CSG views (see visda17.py), ONE view per image,
# mmpretrain's standard ClsDataPreprocessor and pseudo_collate. Evaluation as in visda17.py.

dataset_type = 'VisDA17Dataset'
# data_root: read when this file is parsed; setting it in a child config or
# with --cfg-options changes nothing. Set the dataloader's data_root instead
# (docs/datasets.md, "Data in another folder").
data_root = 'data/visda17'

# becomes model.data_preprocessor (ImageClassifier's default type ClsDataPreprocessor)
data_preprocessor = dict(
    num_classes=12,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# RandAugment, 1 op at magnitude 6 of 30: see the comment in visda17.py.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=1,
        total_level=30,
        magnitude_level=6,
        magnitude_std=0,
        hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='ResizeEdge', scale=224, edge='short'),
    dict(type='RandomCrop', crop_size=224),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=224, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

# Batch 32 in total as in the paper: 8 per GPU x 4 GPUs.
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='validation',
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='VisDAMetric')

test_dataloader = val_dataloader
test_evaluator = val_evaluator
