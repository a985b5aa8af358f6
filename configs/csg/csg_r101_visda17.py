# Short name of resnet101_csg_4xb8-30e_visda17.py.
_base_ = ['./resnet101_csg_4xb8-30e_visda17.py']
