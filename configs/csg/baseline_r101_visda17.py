# Short name of resnet101_4xb8-30e_visda17.py (vanilla baseline).
_base_ = ['./resnet101_4xb8-30e_visda17.py']
