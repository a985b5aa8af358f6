# "ImageNet oracle" of paper Table 1 (53.3): the ImageNet backbone frozen, only the new head
# trained on VisDA-17 synthetic images.
_base_ = ['./resnet101_4xb8-30e_visda17.py']
model = dict(backbone=dict(frozen_stages=4))
