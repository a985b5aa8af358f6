# Cityscapes val as a domain-generalisation target: 500 images of 2048 x 1024, tested at full
# resolution, single scale (the CSG paper's and most DG work's protocol; docs/datasets.md).
# Layout (stock mmseg): leftImg8bit/val/CITY/*_leftImg8bit.png and
# gtFine/val/CITY/*_gtFine_labelTrainIds.png (mmseg's tools/dataset_converters/cityscapes.py).
# `CheckedCityscapesDataset` = mmseg's CityscapesDataset (same samples) + checks: a missing folder
# or label is named, and the count is checked against `expected_num` (set it to None to test on a
# subset, e.g. tiny test data). Every variable is prefixed so that the target bases can be
# sibling `_base_` files.
# cityscapes_val_data_root: read when this file is parsed; setting it in a child config or
# with --cfg-options changes nothing. Set the dataloader's data_root instead
# (docs/datasets.md, "Data in another folder").
cityscapes_val_data_root = 'data/cityscapes/'
cityscapes_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
cityscapes_val_dataset = dict(
    type='CheckedCityscapesDataset',
    data_root=cityscapes_val_data_root,
    data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
    expected_num=500,
    pipeline=cityscapes_test_pipeline)
