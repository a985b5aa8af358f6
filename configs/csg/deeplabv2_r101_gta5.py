# CSG DeepLabV2-R101, GTA5 -> Cityscapes (paper Table 5: 29.63 -> 38.88 mIoU):
#   tools/dist_train.sh configs/csg/deeplabv2_r101_gta5.py 4
_base_ = ['./deeplabv2_r50_gta5.py']
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='data/pretrained/resnet101-63fe2227.pth')))
