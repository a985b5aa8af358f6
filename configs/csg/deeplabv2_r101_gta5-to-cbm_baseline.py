# Baseline (no adaptation) DeepLabV2-R101, gta5 -> Cityscapes + BDD100K + Mapillary: deeplabv2_r50_gta5-to-cbm_baseline.py with a
# ResNet-101 (torchvision ImageNet weights, README "Data and weights").
#   tools/dist_train.sh configs/csg/deeplabv2_r101_gta5-to-cbm_baseline.py 4
_base_ = ['./deeplabv2_r50_gta5-to-cbm_baseline.py']
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='data/pretrained/resnet101-63fe2227.pth')))
