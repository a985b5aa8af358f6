# Domain generalisation, "no adaptation" baseline: DeepLabV2-R50 trained on GTA5 (24,966 frames)
# only, validated and tested on Cityscapes + BDD100K + Mapillary val in one run (per-dataset mIoU
# and their unweighted mean; configs/csg/README.md). 4 GPUs x 2 images, 75k iterations
# (schedules/gta5_75k.py), last checkpoint reported.
_base_ = [
    'mmseg::_base_/default_runtime.py',
    '../_base_/models/deeplabv2_r50-d8.py',
    '../_base_/datasets/gta5_to_cbm.py',
    '../_base_/schedules/gta5_75k.py',
]
custom_imports = dict(imports=['csg_mm'], allow_failed_imports=False)
