"""Safe checkpoint loading: runner checkpoints load for resume / test, third-party files that
would run code are refused (csg_mm.utils.checkpoint)."""
import os.path as osp
import pickle
import sys
import uuid
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModule
from mmengine.runner import Runner, load_checkpoint

from csg_mm.utils.checkpoint import (
    TRUST_ENV_VAR,
    UnsafeCheckpointError,
    register_safe_checkpoint_loading,
    safe_torch_load,
)

DATA_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data')
TOY_CONFIG = osp.join(DATA_DIR, 'configs', 'toy_runner.py')
if DATA_DIR not in sys.path:
    sys.path.insert(0, DATA_DIR)

register_safe_checkpoint_loading()


def _toy_runner(work_dir, **overrides):
    import csg_mm_test_toys  # noqa: F401  (registers the toy model / dataset / metric)
    cfg = Config.fromfile(TOY_CONFIG)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'toy_{uuid.uuid4().hex[:8]}'  # own MessageHub per runner
    cfg.log_level = 'WARNING'
    cfg.merge_from_dict(overrides)
    return Runner.from_cfg(cfg)


class _Payload:
    """Unpickling this runs code: it creates ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f'open({self.marker!r}, "w").close()', ))


class _Small(BaseModule):

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.fc = nn.Linear(2, 2)


@pytest.fixture(params=['torch_save', 'pickle_protocol_2', 'pickle_default_protocol'])
def evil_file(request, tmp_path):
    """A weights file that would create ``marker`` when unpickled; returns (path, marker)."""
    marker = tmp_path / 'marker'
    path = tmp_path / 'evil.pth'
    obj = dict(meta=_Payload(marker), state_dict=_Small().state_dict())  # payload first
    if request.param == 'torch_save':
        torch.save(obj, path)
    else:
        protocol = 2 if request.param == 'pickle_protocol_2' else pickle.DEFAULT_PROTOCOL
        with open(path, 'wb') as f:
            pickle.dump(obj, f, protocol=protocol)
    # the message names the refused global when the unpickler gets that far
    # (torch's weights-only unpickler stops earlier, at the FRAME opcode, on protocol >= 4)
    names_global = request.param != 'pickle_default_protocol'
    return path, marker, names_global


@pytest.fixture(scope='module')
def runner_ckpt(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('toy_run')
    runner = _toy_runner(work_dir)
    runner.train()
    path = work_dir / 'iter_4.pth'
    assert path.is_file()
    return path


def test_runner_checkpoint_holds_non_tensor_objects(runner_ckpt):
    """The runner writes HistoryBuffer and numpy objects: the types that need allow-listing."""
    ckpt = safe_torch_load(str(runner_ckpt), map_location='cpu')
    from mmengine.logging import HistoryBuffer
    log_scalars = ckpt['message_hub']['log_scalars']
    assert any(isinstance(v, HistoryBuffer) for v in log_scalars.values())
    assert isinstance(ckpt['message_hub']['runtime_info']['best_score'], np.floating)
    # plain torch.load on the weights-only path works once csg_mm is registered
    torch.load(str(runner_ckpt), map_location='cpu', weights_only=True)


def test_resume_and_load_runner_checkpoint(runner_ckpt, tmp_path):
    runner = _toy_runner(
        tmp_path, resume=True, load_from=str(runner_ckpt), train_cfg=dict(max_iters=6))
    runner.train()
    assert runner.iter == 6
    assert (tmp_path / 'iter_6.pth').is_file()
    # the resumed message hub carries the history of the first run (HistoryBuffer unpickled)
    assert len(runner.message_hub.get_scalar('train/loss').data[0]) == 6

    tester = _toy_runner(tmp_path / 'test', load_from=str(runner_ckpt))
    metrics = tester.test()
    assert 'mse' in metrics

    ckpt = load_checkpoint(tester.model, str(runner_ckpt), map_location='cpu')
    assert set(ckpt) >= {'meta', 'state_dict', 'message_hub', 'optimizer', 'param_schedulers'}


def test_numpy_objects_load(tmp_path):
    obj = dict(
        arrays=[np.arange(6).astype(dt).reshape(2, 3) for dt in
                (np.float16, np.float32, np.float64, np.int8, np.int32, np.int64, np.uint8,
                 np.bool_)],
        scalars=[np.float32(1.5), np.float64(2.5), np.int64(3), np.bool_(True)],
        dtypes=[np.dtype('float32'), np.dtype('int64')],
        strings=np.array(['a', 'bc']))
    path = tmp_path / 'np.pth'
    torch.save(obj, path)
    out = safe_torch_load(str(path))
    for a, b in zip(out['arrays'], obj['arrays']):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    assert out['scalars'] == obj['scalars']
    assert out['dtypes'] == obj['dtypes']


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / 'obj.pth'
    torch.save(dict(x=np.array([{'a': 1}], dtype=object)), path)
    with pytest.raises(UnsafeCheckpointError, match='ObjectDType|object'):
        safe_torch_load(str(path))


class _GetattrPayload:

    def __init__(self, name):
        self.name = name

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return (getattr, (HistoryBuffer, self.name))


def test_getattr_is_restricted_to_history_buffer_methods(tmp_path):
    """``builtins.getattr`` is allowed only as HistoryBuffer's pickled statistics methods."""
    from mmengine.logging import HistoryBuffer
    ok, bad = tmp_path / 'ok.pth', tmp_path / 'bad.pth'
    torch.save(dict(m=_GetattrPayload('mean')), ok)
    assert safe_torch_load(str(ok))['m'] is HistoryBuffer.mean
    torch.save(dict(m=_GetattrPayload('__init__')), bad)
    with pytest.raises(UnsafeCheckpointError, match='HistoryBuffer'):
        safe_torch_load(str(bad))


def test_payload_runs_when_loaded_unsafely(evil_file):
    """Sanity check of the payload itself: a plain unpickle does create the marker."""
    path, marker, _ = evil_file
    try:  # a plain pickle file then fails torch's magic-number check, after the payload ran
        torch.load(str(path), weights_only=False)
    except RuntimeError:
        pass
    assert marker.exists()


def test_pretrained_init_refuses_code(evil_file):
    path, marker, names_global = evil_file
    module = _Small(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(UnsafeCheckpointError) as info:
        module.init_weights()
    message = str(info.value)
    assert str(path) in message
    assert 'builtins.exec' in message or not names_global
    assert TRUST_ENV_VAR in message
    assert not marker.exists()


def test_load_from_refuses_code(evil_file):
    path, marker, _ = evil_file
    with pytest.raises(UnsafeCheckpointError, match='Refused to load checkpoint'):
        load_checkpoint(_Small(), str(path), map_location='cpu')
    assert not marker.exists()


def test_trust_env_var_opts_out(evil_file, monkeypatch):
    path, marker, _ = evil_file
    monkeypatch.setenv(TRUST_ENV_VAR, '1')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            load_checkpoint(_Small(), str(path), map_location='cpu')
        except RuntimeError:  # plain pickle files fail the magic-number check afterwards
            pass
    assert marker.exists()
    assert any(TRUST_ENV_VAR in str(w.message) for w in caught)


def test_pretrained_plain_state_dict_loads(tmp_path):
    src = _Small()
    path = tmp_path / 'weights.pth'
    torch.save(src.state_dict(), path)
    module = _Small(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    module.init_weights()
    torch.testing.assert_close(module.fc.weight, src.fc.weight)


def test_url_loaders_are_safe():
    """mmengine's http(s) loader (also used by open-mmlab://, torchvision://, mmcls://) is
    replaced: torch.hub.load_state_dict_from_url defaults to weights_only=False."""
    from mmengine.runner import checkpoint as mm_ckpt

    from csg_mm.utils import checkpoint as safe
    loader = mm_ckpt.CheckpointLoader._get_checkpoint_loader
    assert loader('https://example.com/x.pth') is safe.load_from_http
    assert loader('/some/local/file.pth') is safe.load_from_local
    assert mm_ckpt.load_from_http is safe.load_from_http


def test_url_loader_refuses_code(tmp_path):
    """The safe URL loader (exercised with a file:// URL, no network) refuses the payload."""
    from csg_mm.utils import checkpoint as safe
    marker = tmp_path / 'marker'
    src = tmp_path / 'src' / 'evil.pth'
    src.parent.mkdir()
    torch.save(dict(meta=_Payload(marker), state_dict={}), src)
    with pytest.raises(UnsafeCheckpointError, match='builtins.exec'):
        safe.load_from_http(src.as_uri(), model_dir=str(tmp_path / 'cache'), progress=False)
    assert not marker.exists()
    good = tmp_path / 'src' / 'good.pth'
    torch.save(_Small().state_dict(), good)
    out = safe.load_from_http(good.as_uri(), model_dir=str(tmp_path / 'cache'), progress=False)
    assert set(out) == {'fc.weight', 'fc.bias'}


def test_register_is_idempotent():
    before = set(torch.serialization.get_safe_globals())
    register_safe_checkpoint_loading()
    register_safe_checkpoint_loading()
    assert set(torch.serialization.get_safe_globals()) == before
