# Test config: the CSG DeepLabV2-R101 trained on GTA5 (deeplabv2_r101_csg_gta5-to-cbm.py, whose
# validation stays on Cityscapes + BDD100K + Mapillary) tested on ACDC val per condition in one run:
# acdc-fog / acdc-night / acdc-rain / acdc-snow mIoU and their unweighted mean (datasets/acdc_test.py).
#   python tools/test.py configs/csg/deeplabv2_r101_csg_gta5-to-acdc.py \
#       work_dirs/deeplabv2_r101_csg_gta5-to-cbm/iter_75000.pth
_base_ = ['./deeplabv2_r101_csg_gta5-to-cbm.py', '../_base_/datasets/acdc_test.py']
test_dataloader = {{_base_.acdc_test_dataloader}}
test_evaluator = {{_base_.acdc_test_evaluator}}
