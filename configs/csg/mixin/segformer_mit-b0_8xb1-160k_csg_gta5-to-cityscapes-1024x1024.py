# CSG on the stock mmseg SegFormer MiT-B0 config, by inheritance alone: the stock config + the CSG mixin
# + the data (train on GTA5 instead of Cityscapes train; validate on Cityscapes val as stock).
_base_ = [
    'mmseg::segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py',
    '../../_base_/csg/csg_seg.py',
]
train_dataloader = dict(
    dataset=dict(
        type='GTA5Dataset',
        data_root='data/gta5/',
        data_prefix=dict(img_path='images', seg_map_path='labels')))
# MiT stage outputs are layer-normalised (signed), while A-pool's attention assumes post-ReLU
# (non-negative) features as in ResNets: pool MiT features with GAP.
csg = dict(regularizer=dict(pool=dict(pool_type='gap')))
