# Mapillary Vistas v1.2 val with the 19 Cityscapes classes as a domain-generalisation target:
# 2000 images of varying size (up to about 5000 px wide). Labels must be converted first:
#   python tools/dataset_converters/mapillary.py data/mapillary
# which writes validation/labels_trainIds/*.png (the label-by-label table: docs/datasets.md).
# Test resolution (our choice, recorded): each image is resized to fit 2048 x 1024 keeping its
# aspect ratio (short side 1024 for 4:3 and 16:9 images), single scale; the mIoU is computed at the
# label's own resolution (mmseg resizes the prediction back). With the converter's
# `--short-side 1024` the images and labels are downscaled offline instead (faster decoding; the
# metric is then computed at that resolution): point the test set's data_prefix at the folders it
# prints, as in docs/datasets.md "Data in another folder" (redefining mapillary_val_dataset in a
# child config changes nothing).
# `expected_num` checks the count (set it to None to test on a subset). Every variable is prefixed
# so that the target bases can be sibling `_base_` files.
# mapillary_val_data_root: read when this file is parsed; setting it in a child config or
# with --cfg-options changes nothing. Set the dataloader's data_root instead
# (docs/datasets.md, "Data in another folder").
mapillary_val_data_root = 'data/mapillary/'
mapillary_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
mapillary_val_dataset = dict(
    type='Mapillary19Dataset',
    data_root=mapillary_val_data_root,
    data_prefix=dict(img_path='validation/images', seg_map_path='validation/labels_trainIds'),
    expected_num=2000,
    pipeline=mapillary_test_pipeline)
