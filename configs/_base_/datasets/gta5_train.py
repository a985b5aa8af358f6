# GTA5 (24,966 synthetic frames of 1914 x 1052) as a training source. Labels must be converted
# first: python tools/dataset_converters/gta5.py data/gta5
# The same data and train pipeline as gta5_to_cityscapes.py (DESIGN.md 1.2: random scale in
# [0.75, 1.25] of a 1280 x 720 base, 512 x 512 crop, horizontal flip); the CSG mixin adds the key
# view. No dataloader here: configs wrap `gta5_train_dataset`
# (alone, or in a ConcatDataset with synthia_train_dataset). Every variable is prefixed so that
# the dataset bases can be sibling `_base_` files.
# gta5_train_data_root: read when this file is parsed; setting it in a child config or
# with --cfg-options changes nothing. Set the dataloader's data_root instead
# (docs/datasets.md, "Data in another folder").
gta5_train_data_root = 'data/gta5/'
gta5_crop_size = (512, 512)
gta5_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(1280, 720), ratio_range=(0.75, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_size=gta5_crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
gta5_train_dataset = dict(
    type='GTA5Dataset',
    data_root=gta5_train_data_root,
    data_prefix=dict(img_path='images', seg_map_path='labels'),
    pipeline=gta5_train_pipeline)
