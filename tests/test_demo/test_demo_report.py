"""csg_mm.apis.demo's statistics and reports on hand-made per-seed records (no training)."""
import json

import pytest

from csg_mm.apis.demo import (
    conclusion,
    format_summary,
    keep_previous,
    markdown_summary,
    summarize,
    write_summary,
)


def _records(acc, energy):
    """Per-seed records as run_seed writes them: acc / energy = {method: [value per seed]}."""
    n = len(next(iter(acc.values())))
    return [dict(seed=s, methods={k: dict(metrics=dict(mean_class_acc=acc[k][s],
                                                       energy_s0=energy[k][s]))
                                  for k in acc}) for s in range(n)]


ACC = dict(baseline=[70.0, 72.0, 71.0, 73.0, 74.0],
           oracle=[50.0, 52.0, 51.0, 53.0, 54.0],  # exactly 20 points below on every seed
           csg=[71.0, 70.0, 73.0, 71.0, 74.5])  # differences 1, -2, 2, -2, 0.5
ENERGY = dict(baseline=[0.40, 0.42, 0.41, 0.43, 0.44],
              oracle=[0.20, 0.20, 0.20, 0.20, 0.20],
              csg=[0.30, 0.31, 0.30, 0.33, 0.33])  # 0.10 below, +-0.01


def test_summarize_intervals_and_verdicts():
    s = summarize(_records(ACC, ENERGY))
    assert s['seeds'] == [0, 1, 2, 3, 4]
    base = s['methods']['baseline']['mean_class_acc']
    # mean 72, sample variance 2.5, half-width 2.77645 * sqrt(0.5) = 1.9632
    assert base['mean'] == pytest.approx(72.0)
    assert base['half_width'] == pytest.approx(1.9632, abs=1e-4)
    oracle = s['differences']['oracle']['mean_class_acc']
    assert oracle['mean'] == pytest.approx(-20.0) and oracle['half_width'] == pytest.approx(0.0)
    assert oracle['verdict'] == 'lower'
    csg_acc = s['differences']['csg']['mean_class_acc']
    assert csg_acc['mean'] == pytest.approx(-0.1) and csg_acc['verdict'] == 'unresolved'
    csg_en = s['differences']['csg']['energy_s0']
    assert csg_en['mean'] == pytest.approx(-0.106) and csg_en['verdict'] == 'lower'
    assert 'baseline' not in s['differences']


def test_conclusion_names_resolved_differences_only():
    s = summarize(_records(ACC, ENERGY))
    text = '\n'.join(s['conclusion'])
    assert 'excludes 0' in text
    assert 'Oracle: lower accuracy than the baseline' in text
    assert 'CSG: accuracy difference unresolved' in text
    assert 'Oracle, CSG: lower energy (more diverse features) than the baseline' in text
    assert s['conclusion'] == conclusion(s)


def test_conclusion_depends_on_verdicts_only():
    """Numbers that move inside the intervals give the same printed conclusion."""
    acc2 = dict(ACC, csg=[v + d for v, d in zip(ACC['csg'], [0.3, -0.2, 0.0, 0.4, -0.1])])
    assert summarize(_records(acc2, ENERGY))['differences']['csg']['mean_class_acc']['mean'] \
        != pytest.approx(-0.1)
    assert summarize(_records(acc2, ENERGY))['conclusion'] == \
        summarize(_records(ACC, ENERGY))['conclusion']


def test_summarize_without_baseline_has_no_differences():
    acc = {k: v for k, v in ACC.items() if k != 'baseline'}
    energy = {k: v for k, v in ENERGY.items() if k != 'baseline'}
    s = summarize(_records(acc, energy))
    assert s['differences'] == {}
    assert 'baseline did not run' in s['conclusion'][0]


def test_summarize_rejects_bad_records():
    records = _records(ACC, ENERGY)
    with pytest.raises(ValueError, match='at least 2 seeds'):
        summarize(records[:1])
    with pytest.raises(ValueError, match='once'):
        summarize([records[0], records[0]])
    del records[1]['methods']['csg']
    with pytest.raises(ValueError, match='same methods'):
        summarize(records)


def test_reports_and_files(tmp_path):
    s = summarize(_records(ACC, ENERGY))
    text = format_summary(s, dict(metrics=dict(mean_class_acc=90.0, energy_s0=0.2)))
    assert '72.00 [70.04, 73.96]' in text  # baseline accuracy, 95 % interval
    assert 't = 2.776, n = 5' in text
    assert 'coarse mean class accuracy 90.00' in text
    md = markdown_summary(s, 'python tools/demo.py')
    assert '| Oracle (frozen teacher backbone, new head) | 52.00 [50.04, 53.96] |' in md
    paths = write_summary(str(tmp_path), 'summary', s, 'cmd')
    for p in paths:
        assert (tmp_path / p.split('/')[-1]).stat().st_size > 0
    saved = json.loads((tmp_path / 'summary.json').read_text())
    assert saved['differences']['oracle']['mean_class_acc']['verdict'] == 'lower'
    assert saved['command'] == 'cmd'


def test_keep_previous(tmp_path):
    s = summarize(_records(ACC, ENERGY))
    path = str(tmp_path / 'summary.json')
    assert keep_previous([path], s) is None
    (tmp_path / 'summary.json').write_text(json.dumps(s))
    assert keep_previous([path], s) == 'reproduced'
    other = summarize(_records(dict(ACC, csg=[0.0, 1.0, 2.0, 3.0, 4.0]), ENERGY))
    stamp = keep_previous([path], other)
    assert stamp not in (None, 'reproduced')
    assert not (tmp_path / 'summary.json').exists()
    assert (tmp_path / f'summary.{stamp}.json').is_file()


def test_run_demo_rejects_bad_arguments(tmp_path):
    from csg_mm.apis.demo import run_demo
    with pytest.raises(ValueError, match='once'):
        run_demo(seeds=[0, 0], work_dir=str(tmp_path))
    with pytest.raises(ValueError, match='at least one seed'):
        run_demo(seeds=[], work_dir=str(tmp_path))
    with pytest.raises(ValueError, match="unknown method.*'dann'"):
        run_demo(methods=['baseline', 'dann'], work_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='teacher_coarse_real_digits.py'):
        run_demo(config_dir=str(tmp_path), work_dir=str(tmp_path))
    assert not any(tmp_path.iterdir())  # nothing trained or written


def test_tool_rejects_repeated_seed():
    import os.path as osp
    import subprocess
    import sys
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    proc = subprocess.run([sys.executable, osp.join(root, 'tools', 'demo.py'), '--seed', '1', '1'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert 'each seed must appear once' in proc.stderr and 'Traceback' not in proc.stderr
