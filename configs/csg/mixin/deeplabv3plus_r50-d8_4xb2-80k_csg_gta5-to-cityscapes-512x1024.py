# CSG on the stock mmseg DeepLabV3+ R50-D8 config, by inheritance alone: the stock config + the CSG mixin
# + the data (train on GTA5 instead of Cityscapes train; validate on Cityscapes val as stock).
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    '../../_base_/csg/csg_seg.py',
]
train_dataloader = dict(
    dataset=dict(
        type='GTA5Dataset',
        data_root='data/gta5/',
        data_prefix=dict(img_path='images', seg_map_path='labels')))
