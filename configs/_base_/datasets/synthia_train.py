# SYNTHIA-RAND-CITYSCAPES (9,400 synthetic frames of 1280 x 760) as a training source. Labels must
# be converted first: python tools/dataset_converters/synthia.py data/synthia
# (writes GT/LABELS/*_labelTrainIds.png; table in docs/datasets.md). Train pipeline as GTA5's
# (random scale in [0.75, 1.25] of the 1280 x 760 frame, 512 x 512 crop, horizontal flip); the CSG
# mixin adds the key view. No dataloader here: configs wrap `synthia_train_dataset` (alone, or in a
# ConcatDataset with gta5_train_dataset). SYNTHIA has no terrain, truck or train pixels: SYNTHIA->X
# results are reported over 16 (and 13) classes. Every variable is prefixed so that the dataset
# bases can be sibling `_base_` files.
# synthia_train_data_root: read when this file is parsed; setting it in a child config or
# with --cfg-options changes nothing. Set the dataloader's data_root instead
# (docs/datasets.md, "Data in another folder").
synthia_train_data_root = 'data/synthia/'
synthia_crop_size = (512, 512)
synthia_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(1280, 760), ratio_range=(0.75, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_size=synthia_crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
synthia_train_dataset = dict(
    type='SynthiaDataset',
    data_root=synthia_train_data_root,
    data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
    pipeline=synthia_train_pipeline)
