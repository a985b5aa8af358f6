# CSG DeepLabV2-R50 trained on SYNTHIA-RAND-CITYSCAPES (9,400 frames), validated and tested on Cityscapes +
# BDD100K + Mapillary val in one run: the bases of deeplabv2_r50_synthia-to-cbm_baseline.py plus
# the CSG mixin (lambda 75, stages {3, 4}, A-pool 8 x 8: the paper's GTA5 setting).
# SYNTHIA -> X is reported as mIoU16 / mIoU13 (ClassSubsetIoUMetric, datasets/synthia_to_cbm.py).
#   tools/dist_train.sh configs/csg/deeplabv2_r50_csg_synthia-to-cbm.py 4
_base_ = [
    'mmseg::_base_/default_runtime.py',
    '../_base_/models/deeplabv2_r50-d8.py',
    '../_base_/datasets/synthia_to_cbm.py',
    '../_base_/schedules/gta5_75k.py',
    '../_base_/csg/csg_seg.py',
]
