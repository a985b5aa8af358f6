# "No adaptation" baseline of paper Table 5: DeepLabV2-R50 trained on GTA5 only, tested on
# Cityscapes val. 4 GPUs x 2 images, 75k iterations (see schedules/gta5_75k.py).
_base_ = [
    'mmseg::_base_/default_runtime.py',
    '../_base_/models/deeplabv2_r50-d8.py',
    '../_base_/datasets/gta5_to_cityscapes.py',
    '../_base_/schedules/gta5_75k.py',
]
custom_imports = dict(imports=['csg_mm'], allow_failed_imports=False)
