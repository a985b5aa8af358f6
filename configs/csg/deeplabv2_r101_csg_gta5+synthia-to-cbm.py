# CSG DeepLabV2-R101, gta5+synthia -> Cityscapes + BDD100K + Mapillary: deeplabv2_r50_csg_gta5+synthia-to-cbm.py with a
# ResNet-101 (torchvision ImageNet weights, README "Data and weights").
#   tools/dist_train.sh configs/csg/deeplabv2_r101_csg_gta5+synthia-to-cbm.py 4
_base_ = ['./deeplabv2_r50_csg_gta5+synthia-to-cbm.py']
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='data/pretrained/resnet101-63fe2227.pth')))
