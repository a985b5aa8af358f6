# VisDA-2017 classification for CSG: train on the synthetic `train` split with TWO independently
# augmented views per image (anchor for the student, key for the frozen teacher), validate/test on
# the real `validation` split with the VisDA protocol (mean of per-class accuracies).
# Paper / authors' settings: DESIGN 1.2, 1.3. Non-CSG baselines: visda17_single_view.py.
# Flip-averaged evaluation (authors' protocol): add visda17_flip_tta.py, run tools/test.py --tta.

dataset_type = 'VisDA17Dataset'
# data_root: read when this file is parsed; setting it in a child config or
# with --cfg-options changes nothing. Set the dataloader's data_root instead
# (docs/datasets.md, "Data in another folder").
data_root = 'data/visda17'

# Both views are normalised with the ImageNet mean / std (images are loaded BGR, hence to_rgb).
# SelfSupDataPreprocessor normalises a list of views (needs default_collate below), as in
# mmpretrain's MoCo configs; it also accepts the single stacked tensor of val / test batches.
# The model config may override it (e.g. model.data_preprocessor); note that mmpretrain's
# ImageClassifier adds `batch_augments` to a dict data_preprocessor, which this type does not take.
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# RandAugment "1 operation at magnitude 6 on a 0-30 scale" (paper Sec. 4.1 / Table 2):
# mmpretrain's RandAugment maps magnitude_level / total_level linearly onto each operation's
# magnitude_range, so total_level=30, magnitude_level=6 applies 6/30 = 20% of every range: the same
# reading of "M on a 0-30 scale" as the common PyTorch RandAugment ports (magnitude m -> m/30 of the
# range). Policy set 'timm_increasing' (AutoContrast, Equalize, Invert, Rotate, Posterize,
# Solarize, SolarizeAdd, Color, Contrast, Brightness, Sharpness, Shear X/Y, Translate X/Y) is the
# standard RandAugment op set with magnitudes that GROW with the level (identity at 0 for every op
# with a magnitude), which is what the paper's ablation assumes (M in {0, 3, 6, 12, 18}, stronger
# with M); 'simple_increasing' has only 5 ops. Op ranges differ in detail between ports (e.g. some
# scale colour factors in [0.1, 1.9]); this is the closest stock mmpretrain setting.
# M = 0 ("no augmentation" in Table 2): drop the RandAugment entry (AutoContrast / Equalize /
# Invert have no magnitude and would still fire). magnitude_std=0: fixed magnitude, no noise.
# Padding of rotate / shear / translate: the ImageNet mean in BGR order.
rand_augment = dict(
    type='RandAugment',
    policies='timm_increasing',
    num_policies=1,
    total_level=30,
    magnitude_level=6,
    magnitude_std=0,
    hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic'))

# One view: RandAugment, Resize 224 (short edge, as torchvision's Resize(224)), RandomCrop 224.
view_pipeline = [
    rand_augment,
    dict(type='ResizeEdge', scale=224, edge='short'),
    dict(type='RandomCrop', crop_size=224),
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    # two independent draws of view_pipeline: inputs = [anchor (student), key (teacher)]
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=224, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

# Batch 32 in total as in the paper: 8 per GPU x 4 GPUs. On another number of GPUs scale
# batch_size (or set auto_scale_lr) to keep 32.
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # stacks each view separately: inputs = [anchor batch (B,3,224,224), key batch (B,3,224,224)]
    collate_fn=dict(type='default_collate'),
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
    # a stacked batch suits both SelfSupDataPreprocessor and ClsDataPreprocessor
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='validation',
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='VisDAMetric')

test_dataloader = val_dataloader
test_evaluator = val_evaluator
