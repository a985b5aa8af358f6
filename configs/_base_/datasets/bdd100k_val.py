# BDD100K (semantic segmentation, "10K" images) val as a domain-generalisation target: 1000 images
# of 1280 x 720, tested at their native resolution, single scale (docs/datasets.md).
# Layout (as released, labels already in the 19 Cityscapes train ids, 255 = ignore):
# images/10k/val/*.jpg and labels/sem_seg/masks/val/*.png.
# `CheckedBDD100KDataset` = mmseg's BDD100KDataset (same samples) + checks: a missing folder or
# label is named, and the count is checked against `expected_num` (set it to None to test on a
# subset). Every variable is prefixed so that the target bases can be sibling `_base_` files.
# bdd100k_val_data_root: read when this file is parsed; setting it in a child config or
# with --cfg-options changes nothing. Set the dataloader's data_root instead
# (docs/datasets.md, "Data in another folder").
bdd100k_val_data_root = 'data/bdd100k/'
bdd100k_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1280, 720), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
bdd100k_val_dataset = dict(
    type='CheckedBDD100KDataset',
    data_root=bdd100k_val_data_root,
    data_prefix=dict(img_path='images/10k/val', seg_map_path='labels/sem_seg/masks/val'),
    expected_num=1000,
    pipeline=bdd100k_test_pipeline)
