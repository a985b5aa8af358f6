# ACDC (Adverse Conditions Dataset with Correspondences) val per condition as
# domain-generalisation / robustness targets: fog 100, night 106, rain 100, snow 100 images of
# 1920 x 1080, tested at their native resolution, single scale (docs/datasets.md). The ACDC test
# split is scored only by the benchmark server.
# Layout (as released): rgb_anon/{fog,night,rain,snow}/val/GOPRxxxx/*_rgb_anon.png and
# gt/{fog,night,rain,snow}/val/GOPRxxxx/*_gt_labelTrainIds.png (19 Cityscapes train ids).
# `expected_num` checks the count (set it to None to test on a subset). Every variable is prefixed
# so that the target bases can be sibling `_base_` files.
# acdc_val_data_root: read when this file is parsed; setting it in a child config or
# with --cfg-options changes nothing. Set the dataloader's data_root instead
# (docs/datasets.md, "Data in another folder").
acdc_val_data_root = 'data/acdc/'
acdc_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1920, 1080), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
acdc_fog_val_dataset = dict(
    type='ACDCDataset',
    data_root=acdc_val_data_root,
    data_prefix=dict(img_path='rgb_anon/fog/val', seg_map_path='gt/fog/val'),
    expected_num=100,
    pipeline=acdc_test_pipeline)
acdc_night_val_dataset = dict(
    type='ACDCDataset',
    data_root=acdc_val_data_root,
    data_prefix=dict(img_path='rgb_anon/night/val', seg_map_path='gt/night/val'),
    expected_num=106,
    pipeline=acdc_test_pipeline)
acdc_rain_val_dataset = dict(
    type='ACDCDataset',
    data_root=acdc_val_data_root,
    data_prefix=dict(img_path='rgb_anon/rain/val', seg_map_path='gt/rain/val'),
    expected_num=100,
    pipeline=acdc_test_pipeline)
acdc_snow_val_dataset = dict(
    type='ACDCDataset',
    data_root=acdc_val_data_root,
    data_prefix=dict(img_path='rgb_anon/snow/val', seg_map_path='gt/snow/val'),
    expected_num=100,
    pipeline=acdc_test_pipeline)
