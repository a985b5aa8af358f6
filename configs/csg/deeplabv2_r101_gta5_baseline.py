# "No adaptation" baseline of paper Table 5: DeepLabV2-R101 trained on GTA5 only.
_base_ = ['./deeplabv2_r50_gta5_baseline.py']
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='data/pretrained/resnet101-63fe2227.pth')))
