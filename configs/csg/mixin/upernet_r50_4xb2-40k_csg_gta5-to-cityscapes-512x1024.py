# CSG on the stock mmseg UPerNet R50 config, by inheritance alone: the stock config + the CSG mixin
# + the data (train on GTA5 instead of Cityscapes train; validate on Cityscapes val as stock).
_base_ = [
    'mmseg::upernet/upernet_r50_4xb2-40k_cityscapes-512x1024.py',
    '../../_base_/csg/csg_seg.py',
]
train_dataloader = dict(
    dataset=dict(
        type='GTA5Dataset',
        data_root='data/gta5/',
        data_prefix=dict(img_path='images', seg_map_path='labels')))
