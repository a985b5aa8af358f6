# CSG DeepLabV2-R50 trained on GTA5 (24,966 frames), validated and tested on Cityscapes +
# BDD100K + Mapillary val in one run: the bases of deeplabv2_r50_gta5-to-cbm_baseline.py plus
# the CSG mixin (lambda 75, stages {3, 4}, A-pool 8 x 8: the paper's GTA5 setting).
#   tools/dist_train.sh configs/csg/deeplabv2_r50_csg_gta5-to-cbm.py 4
_base_ = [
    'mmseg::_base_/default_runtime.py',
    '../_base_/models/deeplabv2_r50-d8.py',
    '../_base_/datasets/gta5_to_cbm.py',
    '../_base_/schedules/gta5_75k.py',
    '../_base_/csg/csg_seg.py',
]
