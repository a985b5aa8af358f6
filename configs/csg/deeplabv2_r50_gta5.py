# CSG DeepLabV2-R50, GTA5 -> Cityscapes (paper Table 5: 25.88 -> 35.27 mIoU): the bases of the
# "no adaptation" baseline (deeplabv2_r50_gta5_baseline.py) plus the CSG mixin; nothing else
# changes. (The mixin brings `custom_imports`, so this file does not inherit the baseline file,
# which sets its own: mmengine refuses a key in two sibling bases.)
_base_ = [
    'mmseg::_base_/default_runtime.py',
    '../_base_/models/deeplabv2_r50-d8.py',
    '../_base_/datasets/gta5_to_cityscapes.py',
    '../_base_/schedules/gta5_75k.py',
    '../_base_/csg/csg_seg.py',
]
